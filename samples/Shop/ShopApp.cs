using System.Net.Http.Json;

namespace Mesh.Samples.Shop;

/// <summary>
/// The three Shop services. Each calls the next one through its local sidecar's outbound
/// listener, naming the destination service in the Host header, so the mesh does discovery,
/// load balancing, retries and mTLS; the apps know nothing of each other's addresses.
/// </summary>
public static class ShopApp
{
    public const string VersionHeader = "x-shop-version";

    public static WebApplication Build(ShopOptions options)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        if (!options.OwnsProcessSignals)
            builder.Services.AddSingleton<IHostLifetime, EmbeddedLifetime>();
        builder.WebHost.UseUrls(options.Url);
        builder.Services.AddHttpClient("mesh", client =>
        {
            client.BaseAddress = new Uri(options.OutboundSource?.Invoke() ?? options.Outbound);
            client.Timeout = TimeSpan.FromSeconds(5);
        });

        var app = builder.Build();
        if (options.OnRequest is { } observe)
        {
            app.Use(async (context, next) =>
            {
                var started = System.Diagnostics.Stopwatch.GetTimestamp();
                await next(context);
                if (context.Request.Path != "/healthz")
                    observe(context.Response.StatusCode, System.Diagnostics.Stopwatch.GetElapsedTime(started));
            });
        }

        app.MapGet("/healthz", () => Results.Text("ok"));
        switch (options.Service)
        {
            case "inventory":
                MapInventory(app, options);
                break;
            case "catalog":
                MapCatalog(app, options);
                break;
            default:
                MapFrontend(app, options);
                break;
        }

        return app;
    }

    private static void MapInventory(WebApplication app, ShopOptions options) =>
        app.MapGet("/inventory/{sku}", (string sku, HttpContext context) =>
        {
            context.Response.Headers[VersionHeader] = options.Version;
            return Results.Json(new StockLevel(sku, (Math.Abs(sku.GetHashCode(StringComparison.Ordinal)) % 50) + 1), ShopJson.Default.StockLevel);
        });

    private static void MapCatalog(WebApplication app, ShopOptions options) =>
        app.MapGet("/catalog/{sku}", async (string sku, HttpContext context, IHttpClientFactory clients) =>
        {
            context.Response.Headers[VersionHeader] = options.Version;
            if (options.Version == "v2")
            {
                // The canary is slower and fails now and then: what retries and ejection are for.
                await Task.Delay(options.ExtraLatency, context.RequestAborted);
                if (Random.Shared.NextDouble() < options.FailureRate)
                    return Results.Text("catalog v2: simulated failure", statusCode: StatusCodes.Status503ServiceUnavailable);
            }

            var stock = await CallAsync(clients, "inventory", $"/inventory/{Uri.EscapeDataString(sku)}", ShopJson.Default.StockLevel, context.RequestAborted);
            return Results.Json(new CatalogItem(sku, $"Item {sku}", 9.99m, stock?.Count ?? 0, options.Version), ShopJson.Default.CatalogItem);
        });

    private static void MapFrontend(WebApplication app, ShopOptions options) =>
        app.MapGet("/", async (HttpContext context, IHttpClientFactory clients) =>
        {
            var sku = "sku-" + Random.Shared.Next(1, 100);
            using var request = new HttpRequestMessage(HttpMethod.Get, $"/catalog/{sku}");
            request.Headers.Host = "catalog";
            using var response = await clients.CreateClient("mesh").SendAsync(request, context.RequestAborted);
            context.Response.Headers[VersionHeader] = response.Headers.TryGetValues(VersionHeader, out var v) ? string.Join(',', v) : "";
            if (!response.IsSuccessStatusCode)
            {
                // Pass on what the mesh said (429 rate limited, 403 denied, 503 no endpoints) so callers see why.
                var why = response.Headers.TryGetValues("x-mesh-error", out var reason) ? $" ({string.Join(',', reason)})" : "";
                return Results.Text($"frontend: catalog answered {(int)response.StatusCode}{why}", statusCode: (int)response.StatusCode);
            }
            var item = await response.Content.ReadFromJsonAsync(ShopJson.Default.CatalogItem, context.RequestAborted);
            return Results.Json(new Page(options.Version, item), ShopJson.Default.Page);
        });

    private static async Task<T?> CallAsync<T>(IHttpClientFactory clients, string service, string path,
        System.Text.Json.Serialization.Metadata.JsonTypeInfo<T> type, CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, path);
        request.Headers.Host = service;
        using var response = await clients.CreateClient("mesh").SendAsync(request, cancellationToken);
        response.EnsureSuccessStatusCode();
        return await response.Content.ReadFromJsonAsync(type, cancellationToken);
    }
}

/// <summary>A lifetime that leaves process signals to the program hosting the app.</summary>
internal sealed class EmbeddedLifetime : IHostLifetime
{
    public Task WaitForStartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}

public sealed record StockLevel(string Sku, int Count);

public sealed record CatalogItem(string Sku, string Name, decimal Price, int InStock, string Version);

public sealed record Page(string Frontend, CatalogItem? Item);

[System.Text.Json.Serialization.JsonSourceGenerationOptions(System.Text.Json.JsonSerializerDefaults.Web)]
[System.Text.Json.Serialization.JsonSerializable(typeof(StockLevel))]
[System.Text.Json.Serialization.JsonSerializable(typeof(CatalogItem))]
[System.Text.Json.Serialization.JsonSerializable(typeof(Page))]
internal sealed partial class ShopJson : System.Text.Json.Serialization.JsonSerializerContext;
