using System.Text;
using Mesh.Registry.CertificateAuthority;

namespace Mesh.Registry.Tests.CertificateAuthority;

public sealed class JoinTokenTests
{
    [Fact]
    public void Hash_StoresNoTokenAndSaltsEachRecord()
    {
        const string token = "replace-me-shop-join-token";

        var a = JoinTokens.Hash(token, new JoinTokenScope("shop"));
        var b = JoinTokens.Hash(token, new JoinTokenScope("shop"));

        Assert.NotEqual(a.Hash, b.Hash);
        Assert.NotEqual(a.Salt, b.Salt);
        Assert.DoesNotContain(token, Encoding.UTF8.GetString(a.ToBytes()), StringComparison.Ordinal);
        Assert.True(a.Matches(token) && b.Matches(token));
    }

    [Theory]
    [InlineData("replace-me-shop-join-tokem")]
    [InlineData("replace-me-shop-join-token ")]
    [InlineData("REPLACE-ME-SHOP-JOIN-TOKEN")]
    [InlineData("")]
    public void Matches_OnlyTheExactToken(string other) =>
        Assert.False(JoinTokens.Hash("replace-me-shop-join-token", new JoinTokenScope("shop")).Matches(other));

    [Fact]
    public void Hash_RefusesShortTokensAndBadScopes()
    {
        Assert.Throws<ArgumentException>(() => JoinTokens.Hash("short", new JoinTokenScope("shop")));
        Assert.Throws<ArgumentException>(() => JoinTokens.Hash(JoinTokens.Generate(), new JoinTokenScope("sh/op")));
    }

    [Fact]
    public void Generate_GivesDistinctLongTokens()
    {
        var tokens = Enumerable.Range(0, 50).Select(_ => JoinTokens.Generate()).ToHashSet();
        Assert.Equal(50, tokens.Count);
        Assert.All(tokens, t => Assert.True(t.Length >= 43));
    }

    [Fact]
    public void Check_NamespaceTokenAllowsEveryServiceOfItsNamespaceOnly()
    {
        var token = JoinTokens.Generate();
        var registry = new JoinTokenRegistry([JoinTokens.Hash(token, new JoinTokenScope("shop"), "shop")]);

        Assert.True(registry.Check(token, "shop", "catalog").Allowed);
        Assert.True(registry.Check(token, "shop", "billing").Allowed);
        var other = registry.Check(token, "bank", "catalog");
        Assert.False(other.Allowed);
        Assert.Equal("shop", other.TokenId);
    }

    [Fact]
    public void Check_ServiceTokenAllowsOnlyThatService()
    {
        var token = JoinTokens.Generate();
        var registry = JoinTokenRegistry.Empty.With(JoinTokens.Hash(token, new JoinTokenScope("shop", "catalog")));

        Assert.True(registry.Check(token, "shop", "catalog").Allowed);
        Assert.False(registry.Check(token, "shop", "billing").Allowed);
    }

    [Fact]
    public void Check_FindsTheRightTokenAmongMany_AndRemovedTokensStopWorking()
    {
        var shop = JoinTokens.Generate();
        var bank = JoinTokens.Generate();
        var registry = new JoinTokenRegistry([
            JoinTokens.Hash(shop, new JoinTokenScope("shop"), "shop"),
            JoinTokens.Hash(bank, new JoinTokenScope("bank"), "bank"),
        ]);

        Assert.Equal("bank", registry.Check(bank, "bank", "ledger").TokenId);
        Assert.False(registry.Check(shop, "bank", "ledger").Allowed);
        Assert.False(registry.Without("bank").Check(bank, "bank", "ledger").Allowed);
        Assert.Equal("unknown join token", registry.Check("not-a-token-at-all-really", "bank", "ledger").Reason);
    }

    [Fact]
    public void Record_RoundTripsThroughBytes()
    {
        var token = JoinTokens.Generate();
        var record = JoinTokens.Hash(token, new JoinTokenScope("shop", "catalog"), "t1");

        var loaded = JoinTokenRecord.FromBytes(record.ToBytes());

        Assert.Equal(record.Id, loaded.Id);
        Assert.Equal(record.Scope, loaded.Scope);
        Assert.True(loaded.Matches(token));
    }
}
