using System.Text.Json;

namespace Mesh.Cli.Tests.Ctl;

/// <summary><c>mesh ctl</c>'s node verbs against a real single-node registry: what a user reads back.</summary>
public sealed class CtlNodeTests : IAsyncLifetime
{
    private TestCluster _cluster = null!;

    public async Task InitializeAsync() => _cluster = await TestCluster.StartAsync(1);

    public async Task DisposeAsync() => await _cluster.DisposeAsync();

    private string Address => _cluster.Nodes[0]!.ClientUrl.ToString();

    private Task<(int ExitCode, string Out, string Err)> CtlAsync(params string[] args) =>
        MeshInProcess.RunAsync(["ctl", "--registry", Address, .. args]);

    [Fact]
    public async Task Delete_ANodeWithChildren_SaysToUseTheDashRFlag()
    {
        Assert.Equal(0, (await CtlAsync("create", "/app/child", "x", "-p")).ExitCode);

        var (exitCode, output, error) = await CtlAsync("delete", "/app");

        Assert.Equal(1, exitCode);
        Assert.Equal("", output);
        Assert.Equal("mesh ctl delete: NotEmpty: node /app has children; delete them too with -R (--recursive)", error.Trim());
        Assert.DoesNotContain("recursive=true", error);
        Assert.Equal(0, (await CtlAsync("delete", "/app", "-R")).ExitCode);
    }

    [Fact]
    public async Task GetStat_PrintsTheStatWithTheApisCamelCaseKeys()
    {
        Assert.Equal(0, (await CtlAsync("create", "/stat-me", "hello")).ExitCode);

        var (exitCode, output, error) = await CtlAsync("get", "/stat-me", "--stat");

        Assert.True(exitCode == 0, error);
        var json = output[output.IndexOf('{', StringComparison.Ordinal)..];
        using var stat = JsonDocument.Parse(json);
        var keys = stat.RootElement.EnumerateObject().Select(p => p.Name).ToArray();
        Assert.Equal(["version", "childVersion", "createdIndex", "modifiedIndex", "createdTime", "modifiedTime", "ephemeralOwner", "dataLength", "numChildren"], keys);
        Assert.Equal(5, stat.RootElement.GetProperty("dataLength").GetInt32());
    }

    [Fact]
    public async Task GetStat_PrintsTheSameFieldsAndValuesAsTheHttpApisStat()
    {
        Assert.Equal(0, (await CtlAsync("create", "/stat-wire", "hello")).ExitCode);
        using var http = new HttpClient();
        using var api = JsonDocument.Parse(await http.GetStringAsync(new Uri(_cluster.Nodes[0]!.ClientUrl, "/v1/nodes/stat-wire")));

        var (exitCode, output, error) = await CtlAsync("get", "/stat-wire", "--stat");

        Assert.True(exitCode == 0, error);
        using var printed = JsonDocument.Parse(output[output.IndexOf('{', StringComparison.Ordinal)..]);
        Assert.Equal(
            api.RootElement.GetProperty("stat").EnumerateObject().Select(p => (p.Name, p.Value.GetRawText())),
            printed.RootElement.EnumerateObject().Select(p => (p.Name, p.Value.GetRawText())));
    }

    [Theory]
    [InlineData("30s", "30")]
    [InlineData("1500ms", "1.5")]
    [InlineData("2m", "120")]
    [InlineData("45s", "45")]
    public async Task CreateEphemeral_TakesTheTtlInTheConfigFilesDurationSyntax(string ttl, string seconds)
    {
        var (exitCode, output, error) = await CtlAsync("create", "/e-" + Guid.NewGuid().ToString("N"), "x", "--ephemeral", "--ttl", ttl);

        Assert.True(exitCode == 0, error);
        Assert.Contains($"expires {seconds} s after this command", output);
    }

    [Fact]
    public async Task Services_WhenNoneIsRegistered_SaysSoOnStderr_AndPrintsAnEmptyList()
    {
        var (exitCode, output, error) = await CtlAsync("services");

        Assert.Equal(0, exitCode);
        Assert.Equal("", output);
        Assert.Equal("no services registered", error.Trim());
    }
}
