using System.Text.Json;
using Mesh.Registry.Api;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace Mesh.Registry.Tests.Api;

public sealed class ApiFaultsTests
{
    [Fact]
    public async Task Answer_UnexpectedException_IsOneJson500_AndOneLogEntryWithTheException()
    {
        var context = new DefaultHttpContext();
        context.Request.Method = "POST";
        context.Request.Path = "/v1/txn";
        var body = new MemoryStream();
        context.Response.Body = body;
        var logger = new RecordingLogger();
        var fault = new InvalidOperationException("a bug");

        await ApiFaults.AnswerAsync(context, logger, fault);

        Assert.Equal(500, context.Response.StatusCode);
        using var json = JsonDocument.Parse(body.ToArray());
        Assert.Equal("Internal", json.RootElement.GetProperty("error").GetString());
        Assert.DoesNotContain("a bug", json.RootElement.GetProperty("message").GetString(), StringComparison.Ordinal);
        var entry = Assert.Single(logger.Entries);
        Assert.Equal(LogLevel.Error, entry.Level);
        Assert.Same(fault, entry.Exception);
        Assert.Contains("POST /v1/txn", entry.Message, StringComparison.Ordinal);
    }

    private sealed class RecordingLogger : ILogger
    {
        public List<(LogLevel Level, string Message, Exception? Exception)> Entries { get; } = [];

        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
            Entries.Add((logLevel, formatter(state, exception), exception));
    }
}
