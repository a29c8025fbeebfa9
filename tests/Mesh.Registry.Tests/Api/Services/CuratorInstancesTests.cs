using System.Text;
using Mesh.Registry.Api.Services;
using Mesh.Registry.Core;
using Mesh.Registry.Core.Commands;
using Mesh.Registry.Core.Tree;

namespace Mesh.Registry.Tests.Api.Services;

public sealed class CuratorInstancesTests
{
    // What Curator's JsonInstanceSerializer writes (ServiceDiscoveryBuilder, default basePath).
    private const string Curator = """
        {"name":"legacy","id":"6f1c","address":"10.0.0.7","port":8080,"sslPort":null,"payload":null,
         "registrationTimeUTC":1700000000000,"serviceType":"DYNAMIC","uriSpec":{"parts":[{"value":"scheme","variable":true}]}}
        """;

    [Fact]
    public void Parse_CuratorServiceInstance_IsAnEndpointWithTheMeshDefaultWeight()
    {
        var instance = CuratorInstances.Parse("6f1c", Encoding.UTF8.GetBytes(Curator))!;

        Assert.Equal(("6f1c", "10.0.0.7", 8080, 100), (instance.Id, instance.Address, instance.Port, instance.Weight));
        Assert.Equal("curator", instance.Labels!["registration"]);
        Assert.Equal("DYNAMIC", instance.Labels["curator.serviceType"]);
    }

    [Theory]
    [InlineData("")]
    [InlineData("not json")]
    [InlineData("{\"address\":\"10.0.0.7\"}")]
    [InlineData("{\"address\":\"10.0.0.7\",\"port\":0}")]
    [InlineData("{\"address\":\"10.0.0.7\",\"port\":70000}")]
    [InlineData("{\"address\":7,\"port\":80}")]
    [InlineData("{\"address\":\"10.0.0.7\",\"port\":80")]
    public void Parse_DataThatIsNotACuratorInstance_IsSkipped(string data) =>
        Assert.Null(CuratorInstances.Parse("x", Encoding.UTF8.GetBytes(data)));

    [Fact]
    public void Parse_OnlyAnSslPort_UsesIt() =>
        Assert.Equal(8443, CuratorInstances.Parse("x", """{"address":"a","port":null,"sslPort":8443}"""u8)!.Port);

    [Fact]
    public void Read_UnderTheServicesRoot_SkipsTheSidecarsInstancesNode()
    {
        var state = new RegistryStateMachine();
        state.Apply(1, new CreateNode(CommandHeader.At(1), "/services/legacy/instances/sidecar-1", Encoding.UTF8.GetBytes("{\"address\":\"a\",\"port\":1}"), CreateMode.Persistent, 0, true));
        state.Apply(2, new CreateNode(CommandHeader.At(1), "/services/legacy/6f1c", Encoding.UTF8.GetBytes(Curator)));

        Assert.Equal(["6f1c"], CuratorInstances.Read(state, "/services", "legacy", _ => true).Select(i => i.Id));
        Assert.Empty(CuratorInstances.Read(state, "/curator", "legacy", _ => true));
    }

    [Theory]
    [InlineData("/dubbo", "/dubbo/catalog/3f2a", "/services/catalog")]
    [InlineData("/dubbo", "/dubbo/catalog", "/services/catalog")]
    [InlineData("/dubbo", "/dubbo", null)]
    [InlineData("/dubbo", "/dubbo/catalog/3f2a/deeper", null)]
    [InlineData("/dubbo", "/dubboX/catalog", null)]
    [InlineData("/dubbo", "/services/catalog/instances/a", null)]
    [InlineData("/a/b", "/a/b/catalog/1", "/services/catalog")]
    [InlineData("/services", "/services/catalog/1", null)]
    public void ServicePathOf_ACuratorInstanceChange_IsItsServicesPath(string basePath, string changePath, string? servicePath) =>
        Assert.Equal(servicePath, CuratorInstances.ServicePathOf(basePath, changePath));

    [Theory]
    [InlineData("/services")]
    [InlineData("/dubbo")]
    [InlineData("/curator/apps")]
    [InlineData("/servicesX")]
    public void CheckBasePath_TheServicesRootOrOutsideIt_IsABase(string basePath) =>
        Assert.Equal(basePath, CuratorInstances.CheckBasePath(basePath));

    [Theory]
    [InlineData("/services/foo", "inside /services")]
    [InlineData("/services/foo/bar", "inside /services")]
    [InlineData("/", "not a node path below the root")]
    [InlineData("dubbo", "not a node path below the root")]
    [InlineData(null, "not a node path below the root")]
    public void CheckBasePath_InsideServicesOrNotAPath_IsRefusedSayingWhy(string? basePath, string why) =>
        Assert.Contains(why, Assert.Throws<FormatException>(() => CuratorInstances.CheckBasePath(basePath)).Message, StringComparison.Ordinal);
}
