namespace Mesh.Registry.Contracts.Tests.Identity;

public sealed class SpiffeIdTests
{
    [Fact]
    public void Parse_RoundTripsWithToString()
    {
        var id = SpiffeId.Parse("spiffe://mesh.local/ns/shop/sa/catalog");

        Assert.Equal("mesh.local", id.TrustDomain);
        Assert.Equal("shop", id.Namespace);
        Assert.Equal("catalog", id.Service);
        Assert.Equal("spiffe://mesh.local/ns/shop/sa/catalog", id.ToString());
        Assert.Equal(SpiffeId.Create("mesh.local", "shop", "catalog"), id);
        Assert.Equal(new Uri("spiffe://mesh.local/ns/shop/sa/catalog"), id.ToUri());
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("https://mesh.local/ns/shop/sa/catalog")]
    [InlineData("spiffe://mesh.local/ns/shop")]
    [InlineData("spiffe://mesh.local/ns/shop/sa/catalog/extra")]
    [InlineData("spiffe://mesh.local/namespace/shop/sa/catalog")]
    [InlineData("spiffe://Mesh.Local/ns/shop/sa/catalog")]
    [InlineData("spiffe://mesh.local/ns//sa/catalog")]
    [InlineData("spiffe://mesh.local/ns/../sa/catalog")]
    [InlineData("spiffe://mesh.local/ns/shop/sa/cat%20alog")]
    [InlineData("spiffe:///ns/shop/sa/catalog")]
    public void TryParse_RejectsAnythingButTheMeshShape(string? text)
    {
        Assert.False(SpiffeId.TryParse(text, out _, out var error));
        Assert.False(string.IsNullOrEmpty(error));
    }

    [Fact]
    public void Create_NamesTheBadPart()
    {
        var ex = Assert.Throws<ArgumentException>(() => SpiffeId.Create("mesh.local", "shop", "cat/alog"));
        Assert.Contains("service", ex.Message, StringComparison.Ordinal);
    }
}
