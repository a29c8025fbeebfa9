// Every log entry of a sidecar, at every level, with the exception it carried.
using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;

namespace Mesh.Sidecar.Tests.Hostile;

internal sealed class AllLogs : ILoggerProvider
{
    public ConcurrentQueue<(LogLevel Level, string Message, Exception? Exception)> Entries { get; } = new();

    public ILogger CreateLogger(string categoryName) => new Logger(this, categoryName);

    public void Dispose()
    {
    }

    private sealed class Logger(AllLogs logs, string category) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
            logs.Entries.Enqueue((logLevel, $"{category}: {formatter(state, exception)}", exception));
    }
}
