using Mesh.Registry.Core.Paths;
using Mesh.Registry.Core.Results;

namespace Mesh.Registry.Core.Tests.Paths;

public sealed class NodePathTests
{
    [Theory]
    [InlineData("/", true)]
    [InlineData("/a", true)]
    [InlineData("/services/catalog/instances/a-1", true)]
    [InlineData("/a.b/..c/...", true)]
    [InlineData("/ünïcödé/😀", true)]
    [InlineData("/with space", true)]
    [InlineData("", false)]
    [InlineData("a", false)]
    [InlineData("a/b", false)]
    [InlineData("/a/", false)]
    [InlineData("//", false)]
    [InlineData("/a//b", false)]
    [InlineData("/.", false)]
    [InlineData("/a/./b", false)]
    [InlineData("/..", false)]
    [InlineData("/a/../b", false)]
    [InlineData("/a\0b", false)]
    [InlineData("/a\nb", false)]
    [InlineData("/a\u007fb", false)]
    [InlineData("/a\u0085b", false)]
    public void IsValid_Path_MatchesTheRules(string path, bool valid) => Assert.Equal(valid, NodePath.IsValid(path));

    // Built at run time: attribute strings cannot hold unpaired surrogates.
    [Fact]
    public void IsValid_UnpairedSurrogate_IsFalse()
    {
        Assert.False(NodePath.IsValid("/a" + (char)0xD800));
        Assert.False(NodePath.IsValid("/" + (char)0xDC00 + "a"));
        Assert.False(NodePath.IsValid("/" + (char)0xD800 + "a"));
        Assert.True(NodePath.IsValid("/" + (char)0xD83D + (char)0xDE00));
    }

    [Fact]
    public void IsValid_OverMaxLength_IsFalse()
    {
        Assert.True(NodePath.IsValid("/" + new string('a', NodePath.MaxLength - 1)));
        Assert.False(NodePath.IsValid("/" + new string('a', NodePath.MaxLength)));
    }

    [Theory]
    [InlineData("/a/")]
    [InlineData("a")]
    [InlineData("/a/../b")]
    public void Create_InvalidPath_IsRejectedAndNotStored(string path)
    {
        var r = new Registry();
        Assert.Equal(ErrorCode.InvalidPath, r.Create(path, parents: true).Error);
        Assert.Equal(1, r.Machine.NodeCount);
    }

    [Theory]
    [InlineData("/a/b", "/a", "b")]
    [InlineData("/a", "/", "a")]
    public void ParentAndName_Path_SplitAtLastSlash(string path, string parent, string name)
    {
        Assert.Equal(parent, NodePath.Parent(path));
        Assert.Equal(name, NodePath.Name(path));
        Assert.Equal(path, NodePath.Combine(parent, name));
    }
}
