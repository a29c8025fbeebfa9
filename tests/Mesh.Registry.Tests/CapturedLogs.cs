using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;

namespace Mesh.Registry.Tests;

/// <summary>Collects what nodes log at Information and above, so a test can check a line was (or was not) written, and with no exception attached.</summary>
internal sealed class CapturedLogs : ILoggerProvider
{
    private readonly ConcurrentQueue<(LogLevel Level, string Message, Exception? Exception)> _entries = new();

    public IReadOnlyCollection<(LogLevel Level, string Message, Exception? Exception)> Entries => _entries;

    public IEnumerable<string> Messages => _entries.Select(e => e.Message);

    /// <summary>A logger factory writing here only; DotNext's own lines from Error up, as a node's default logging has them.</summary>
    public ILoggerFactory Factory() => LoggerFactory.Create(b => b.AddProvider(this).SetMinimumLevel(LogLevel.Information).AddFilter("DotNext", LogLevel.Error));

    public ILogger CreateLogger(string categoryName) => new Logger(_entries);

    public void Dispose()
    {
    }

    private sealed class Logger(ConcurrentQueue<(LogLevel, string, Exception?)> entries) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => logLevel >= LogLevel.Information;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (IsEnabled(logLevel))
                entries.Enqueue((logLevel, formatter(state, exception), exception));
        }
    }
}
