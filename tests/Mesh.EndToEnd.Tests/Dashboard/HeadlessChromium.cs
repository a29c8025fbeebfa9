// Debian's chromium, headless, driven over the DevTools protocol with a small client on
// ClientWebSocket: one page (a target attached in flat mode), commands answered by id, events
// ignored. Chromium binds its DevTools port at 0 and prints the address it got, so nothing is
// picked in advance. Every wait is bounded.
using System.Diagnostics;
using System.Net.WebSockets;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Mesh.EndToEnd.Tests.Dashboard;

internal sealed class HeadlessChromium : IAsyncDisposable
{
    private static readonly TimeSpan CommandTimeout = TimeSpan.FromSeconds(30);
    private readonly Process _process;
    private readonly string _profile;
    private readonly ClientWebSocket _socket = new();
    private readonly Dictionary<int, TaskCompletionSource<JsonElement>> _pending = [];
    private readonly Lock _lock = new();
    private readonly CancellationTokenSource _stop = new();
    private Task _reader = Task.CompletedTask;
    private string? _session;
    private int _nextId;

    private HeadlessChromium(Process process, string profile)
    {
        _process = process;
        _profile = profile;
    }

    /// <summary>Null when chromium can run here, else why not (for the skip message).</summary>
    public static string? Unavailable() =>
        File.Exists("/usr/bin/chromium") ? null : "'chromium' is not installed (scripts/install-test-deps.sh installs it)";

    public static async Task<HeadlessChromium> StartAsync(int width = 1280, int height = 900)
    {
        var profile = Path.Combine(Path.GetTempPath(), "mesh-chromium-" + Guid.NewGuid().ToString("N")[..8]);
        var start = new ProcessStartInfo("/usr/bin/chromium") { RedirectStandardError = true, RedirectStandardOutput = true };
        foreach (var arg in new[]
        {
            "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
            "--no-default-browser-check", "--disable-extensions", "--disable-background-networking", "--disable-sync",
            "--disable-component-update", "--metrics-recording-only", "--mute-audio", "--hide-scrollbars",
            "--remote-debugging-address=127.0.0.1", "--remote-debugging-port=0",
            $"--user-data-dir={profile}", $"--window-size={width},{height}", "about:blank",
        })
            start.ArgumentList.Add(arg);
        var process = Process.Start(start)!;
        var browser = new HeadlessChromium(process, profile);
        try
        {
            var endpoint = new TaskCompletionSource<Uri>(TaskCreationOptions.RunContinuationsAsynchronously);
            var log = new StringBuilder();
            process.ErrorDataReceived += (_, e) =>
            {
                lock (log)
                    log.AppendLine(e.Data);
                const string marker = "DevTools listening on ";
                if (e.Data is { } line && line.StartsWith(marker, StringComparison.Ordinal))
                    endpoint.TrySetResult(new Uri(line[marker.Length..].Trim()));
            };
            process.BeginErrorReadLine();
            process.OutputDataReceived += (_, _) => { };
            process.BeginOutputReadLine();
            Uri url;
            try
            {
                url = await endpoint.Task.WaitAsync(TimeSpan.FromSeconds(30));
            }
            catch (TimeoutException)
            {
                lock (log)
                    throw new InvalidOperationException("chromium printed no DevTools address within 30 s:\n" + log);
            }

            await browser._socket.ConnectAsync(url, new CancellationTokenSource(CommandTimeout).Token);
            browser._reader = Task.Run(browser.ReadAsync);
            var target = await browser.SendAsync("Target.createTarget", new JsonObject { ["url"] = "about:blank" }, session: false);
            var attached = await browser.SendAsync("Target.attachToTarget", new JsonObject { ["targetId"] = target.GetProperty("targetId").GetString(), ["flatten"] = true }, session: false);
            browser._session = attached.GetProperty("sessionId").GetString();
            await browser.SendAsync("Page.enable");
            await browser.SendAsync("Emulation.setDeviceMetricsOverride", new JsonObject { ["width"] = width, ["height"] = height, ["deviceScaleFactor"] = 1, ["mobile"] = false });
            return browser;
        }
        catch
        {
            await browser.DisposeAsync();
            throw;
        }
    }

    public async Task NavigateAsync(Uri url)
    {
        var result = await SendAsync("Page.navigate", new JsonObject { ["url"] = url.ToString() });
        if (result.TryGetProperty("errorText", out var error) && error.GetString() is { Length: > 0 } text)
            throw new InvalidOperationException($"navigating to {url} failed: {text}");
    }

    /// <summary>Evaluates a JavaScript expression in the page and returns its value (by value, awaited if a promise).</summary>
    public async Task<JsonElement> EvaluateAsync(string expression)
    {
        var result = await SendAsync("Runtime.evaluate", new JsonObject { ["expression"] = expression, ["returnByValue"] = true, ["awaitPromise"] = true });
        if (result.TryGetProperty("exceptionDetails", out var exception))
            throw new InvalidOperationException($"{expression} threw: {exception}");
        var value = result.GetProperty("result");
        return value.TryGetProperty("value", out var v) ? v : default;
    }

    /// <summary>Evaluates <paramref name="condition"/> until it is true; false at the deadline.</summary>
    public async Task<bool> WaitForAsync(string condition, TimeSpan deadline)
    {
        var clock = Stopwatch.StartNew();
        while (clock.Elapsed < deadline)
        {
            // While a page loads there may be no body yet: a condition that throws is not yet true.
            if (await EvaluateAsync($"(() => {{ try {{ return !!({condition}); }} catch {{ return false; }} }})()") is { ValueKind: JsonValueKind.True })
                return true;
            await Task.Delay(250);
        }
        return false;
    }

    /// <summary>Presses a key (keyDown + keyUp), as a keyboard user would.</summary>
    public async Task PressAsync(string key, int keyCode, string? text = null)
    {
        var down = new JsonObject { ["type"] = "keyDown", ["key"] = key, ["code"] = key, ["windowsVirtualKeyCode"] = keyCode };
        if (text is not null)
            down["text"] = text;
        await SendAsync("Input.dispatchKeyEvent", down);
        await SendAsync("Input.dispatchKeyEvent", new JsonObject { ["type"] = "keyUp", ["key"] = key, ["code"] = key, ["windowsVirtualKeyCode"] = keyCode });
    }

    /// <summary>A PNG of the whole page (the viewport grown to the page's height for the shot).</summary>
    public async Task ScreenshotAsync(string path)
    {
        var height = (await EvaluateAsync("Math.ceil(document.documentElement.scrollHeight)")).GetInt32();
        var width = (await EvaluateAsync("window.innerWidth")).GetInt32();
        await SendAsync("Emulation.setDeviceMetricsOverride", new JsonObject { ["width"] = width, ["height"] = Math.Clamp(height, 200, 8000), ["deviceScaleFactor"] = 1, ["mobile"] = false });
        var shot = await SendAsync("Page.captureScreenshot", new JsonObject { ["format"] = "png" });
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        await File.WriteAllBytesAsync(path, Convert.FromBase64String(shot.GetProperty("data").GetString()!));
    }

    private async Task<JsonElement> SendAsync(string method, JsonObject? parameters = null, bool session = true)
    {
        TaskCompletionSource<JsonElement> answer = new(TaskCreationOptions.RunContinuationsAsynchronously);
        int id;
        lock (_lock)
        {
            id = ++_nextId;
            _pending[id] = answer;
        }

        var message = new JsonObject { ["id"] = id, ["method"] = method, ["params"] = parameters ?? [] };
        if (session && _session is not null)
            message["sessionId"] = _session;
        var bytes = Encoding.UTF8.GetBytes(message.ToJsonString());
        using var timeout = new CancellationTokenSource(CommandTimeout);
        await _socket.SendAsync(bytes, WebSocketMessageType.Text, true, timeout.Token);
        try
        {
            return await answer.Task.WaitAsync(CommandTimeout);
        }
        catch (TimeoutException)
        {
            throw new TimeoutException($"chromium did not answer {method} within {CommandTimeout.TotalSeconds:0} s");
        }
    }

    private async Task ReadAsync()
    {
        var buffer = new byte[1 << 16];
        using var message = new MemoryStream();
        try
        {
            while (_socket.State == WebSocketState.Open)
            {
                var received = await _socket.ReceiveAsync(buffer, _stop.Token);
                if (received.MessageType == WebSocketMessageType.Close)
                    break;
                message.Write(buffer, 0, received.Count);
                if (!received.EndOfMessage)
                    continue;
                var json = JsonDocument.Parse(message.ToArray()).RootElement.Clone();
                message.SetLength(0);
                if (!json.TryGetProperty("id", out var idElement))
                    continue; // an event
                TaskCompletionSource<JsonElement>? answer;
                lock (_lock)
                    _pending.Remove(idElement.GetInt32(), out answer);
                if (json.TryGetProperty("error", out var error))
                    answer?.TrySetException(new InvalidOperationException("DevTools error: " + error));
                else
                    answer?.TrySetResult(json.GetProperty("result"));
            }
        }
        catch (Exception e) when (e is OperationCanceledException or WebSocketException)
        {
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        try
        {
            if (_socket.State == WebSocketState.Open)
                await _socket.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, "done", new CancellationTokenSource(TimeSpan.FromSeconds(2)).Token);
        }
        catch (Exception e) when (e is WebSocketException or OperationCanceledException)
        {
        }
        _socket.Dispose();
        await _reader;
        if (!_process.HasExited)
            _process.Kill(entireProcessTree: true);
        await _process.WaitForExitAsync(new CancellationTokenSource(TimeSpan.FromSeconds(10)).Token);
        _process.Dispose();
        try
        {
            Directory.Delete(_profile, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
