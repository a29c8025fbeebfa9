using System.Globalization;
using System.Text.Json;
using Mesh.Testing;
using Xunit.Abstractions;

namespace Mesh.EndToEnd.Tests.Dashboard;

/// <summary>
/// The dashboard of a real `mesh demo`, looked at in a real browser (headless chromium over the
/// DevTools protocol): what a person would see, read from the page itself, and a screenshot of
/// every page under artifacts/dashboard/ for review.
/// </summary>
[Collection(RunningDemoCollection.Name)]
public sealed class DashboardBrowserTests(RunningDemo demo, ITestOutputHelper output)
{
    private static readonly string[] Pages = ["topology", "services", "routes", "rate-limits", "certificates", "registry"];
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(60);

    private static void RequireTools() => RequiredTool.Check(HeadlessChromium.Unavailable());

    [SkippableFact]
    public async Task Dashboard_InABrowser_ShowsTheTopologyLiveNumbersAndTheIntrudersDenials_AndEveryPageIsCaptured()
    {
        RequireTools();
        await demo.SnapshotWithTrafficAsync(Deadline);
        await using var browser = await HeadlessChromium.StartAsync();
        await browser.NavigateAsync(demo.Dashboard);

        // Topology: frontend → catalog → inventory, as rows a reader (or a screen reader) can follow.
        Assert.True(await browser.WaitForAsync("document.querySelector('#edges tr[data-edge=\"frontend->catalog\"]') && document.querySelector('#edges tr[data-edge=\"catalog->inventory\"]')", Deadline),
            "the topology never showed frontend -> catalog -> inventory: " + await Text(browser, "#topology"));
        Assert.True((await browser.EvaluateAsync("document.querySelectorAll('#graph svg g.node').length")).GetInt32() >= 4);

        // Live: two looks a few seconds apart show different numbers.
        var first = await Numbers(browser);
        var updated = await browser.EvaluateAsync("document.body.dataset.updated");
        Assert.True(await browser.WaitForAsync($"document.body.dataset.updated !== {updated.GetRawText()}", TimeSpan.FromSeconds(20)), "the page did not update");
        await Task.Delay(2500);
        var second = await Numbers(browser);
        Assert.True(first != second, $"the numbers did not change between two looks: {first}");

        // The intruder's calls are denied by catalog's policy, and the page says so on catalog.
        await browser.NavigateAsync(new Uri(demo.Dashboard, "#rate-limits"));
        Assert.True(await browser.WaitForAsync("document.querySelector('#denied-table tr[data-denied=\"catalog\"]')", Deadline),
            "no denial shown on catalog: " + await Text(browser, "#rate-limits"));
        var denied = await browser.EvaluateAsync("document.querySelector('#denied-table tr[data-denied=\"catalog\"]').cells[2].textContent");
        Assert.True(double.Parse(denied.GetString()!, CultureInfo.InvariantCulture) > 0);
        await browser.NavigateAsync(new Uri(demo.Dashboard, "#services"));
        Assert.True(await browser.WaitForAsync("document.querySelector('#service-table tr[data-service=\"catalog\"]')", Deadline));
        var catalogDenied = (await browser.EvaluateAsync("document.querySelector('#service-table tr[data-service=\"catalog\"]').cells[7].textContent")).GetString()!;
        Assert.True(long.Parse(catalogDenied.Split(' ')[0], CultureInfo.InvariantCulture) > 0, "catalog's denied cell: " + catalogDenied);

        // States read as words, never colour alone.
        var health = await browser.EvaluateAsync("[...document.querySelectorAll('#instances tr[data-health]')].map(r => r.dataset.health + ':' + r.cells[5].textContent).join(',')");
        Assert.Contains("healthy:healthy", health.GetString());

        // Nothing the page loaded came from anywhere but the dashboard itself.
        var foreign = await browser.EvaluateAsync("performance.getEntriesByType('resource').map(e => e.name).filter(n => !n.startsWith(location.origin)).join(' ')");
        Assert.Equal("", foreign.GetString());

        var folder = Path.Combine(RunningDemo.RepoRoot(), "artifacts", "dashboard");
        foreach (var page in Pages)
        {
            await browser.NavigateAsync(new Uri(demo.Dashboard, "#" + page));
            Assert.True(await browser.WaitForAsync($"!document.getElementById('{page}').hidden && document.body.dataset.updated", Deadline));
            await browser.ScreenshotAsync(Path.Combine(folder, page + ".png"));
            Assert.True(new FileInfo(Path.Combine(folder, page + ".png")).Length > 5_000, page);
        }
        output.WriteLine($"screenshots in {folder}");
    }

    [SkippableFact]
    public async Task Dashboard_ByKeyboard_TabReachesTheSkipLinkThenThePages_AndEnterOpensOneWithFocusOnItsHeading()
    {
        RequireTools();
        await using var browser = await HeadlessChromium.StartAsync();
        await browser.NavigateAsync(demo.Dashboard);
        Assert.True(await browser.WaitForAsync("document.body.dataset.updated", Deadline));

        await browser.PressAsync("Tab", 9);
        Assert.Equal("Skip to content", (await browser.EvaluateAsync("document.activeElement.textContent")).GetString());
        var visited = new List<string>();
        for (var i = 0; i < 4; i++)
        {
            await browser.PressAsync("Tab", 9);
            visited.Add((await browser.EvaluateAsync("document.activeElement.textContent")).GetString()!);
        }
        Assert.Equal(["Topology", "Services", "Routes", "Rate limits"], visited);

        await browser.PressAsync("Enter", 13, "\r");
        Assert.True(await browser.WaitForAsync("location.hash === '#rate-limits' && document.activeElement.id === 'rate-limits-title'", TimeSpan.FromSeconds(10)),
            "Enter on 'Rate limits' did not open the page with focus on its heading: " + (await browser.EvaluateAsync("location.hash + ' ' + document.activeElement.id")).GetString());
        Assert.True((await browser.EvaluateAsync("document.getElementById('topology').hidden")).GetBoolean());
        Assert.Equal("page", (await browser.EvaluateAsync("document.querySelector('nav a[href=\"#rate-limits\"]').getAttribute('aria-current')")).GetString());
    }

    private static async Task<string> Numbers(HeadlessChromium browser) =>
        (await browser.EvaluateAsync("document.querySelector('#edges tbody').textContent + '|' + document.querySelector('#service-table tbody').textContent")).GetString()!;

    private static async Task<string> Text(HeadlessChromium browser, string selector) =>
        (await browser.EvaluateAsync($"document.querySelector('{selector}').innerText")).GetString() ?? "";

}
