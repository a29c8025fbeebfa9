using Xunit;

namespace Mesh.Testing;

/// <summary>
/// What a test does when an outside program it needs (chromium, prometheus, kazoo, zkCli, root for
/// network namespaces) is not there. Where the test command promised the tools
/// (<c>MESH_TEST_TOOLS=required</c>, which ./test.sh sets once scripts/install-test-deps.sh has run as
/// root) the test fails naming what is missing; elsewhere (a developer's machine without root) it is
/// reported skipped. Never a silent pass: a test that returns early without asserting claims
/// something it did not check. Tests using it are <c>[SkippableFact]</c> or <c>[SkippableTheory]</c>.
/// </summary>
internal static class RequiredTool
{
    public const string Variable = "MESH_TEST_TOOLS";

    /// <summary>Returns when <paramref name="unavailable"/> is null; otherwise fails or skips the test with it as the reason.</summary>
    public static void Check(string? unavailable)
    {
        if (unavailable is null)
            return;
        if (Environment.GetEnvironmentVariable(Variable) == "required")
            Assert.Fail($"this test needs what is missing here: {unavailable} ({Variable}=required: the test command installed the test tools, so a missing one is a failure)");
        Skip.If(true, unavailable);
    }
}
