namespace Mesh.Reliability.Tests.Nemesis;

public sealed class TornWriteTests : IDisposable
{
    private readonly DirectoryInfo _dir = Directory.CreateTempSubdirectory("mesh-torn-");

    public void Dispose() => _dir.Delete(recursive: true);

    private string Write(string name, int length, DateTime written)
    {
        var path = Path.Combine(_dir.FullName, name);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllBytes(path, Enumerable.Range(0, length).Select(i => (byte)i).ToArray());
        File.SetLastWriteTimeUtc(path, written);
        return path;
    }

    private static readonly DateTime s_t0 = new(2026, 1, 1, 0, 0, 0, DateTimeKind.Utc);

    [Fact]
    public void TruncatesOnlyTheNewestFile_ByTheGivenBytes()
    {
        var old = Write("log/0001.seg", 100, s_t0);
        var newest = Write("log/0002.seg", 100, s_t0.AddSeconds(5));
        var snapshot = Write("snap/1.snap", 100, s_t0.AddSeconds(1));

        var torn = TornWrite.TruncateNewestFile(_dir.FullName, bytes: 7);

        Assert.Equal(new TornFile(newest, 100, 93), torn);
        Assert.Equal(93, new FileInfo(newest).Length);
        Assert.Equal(100, new FileInfo(old).Length);
        Assert.Equal(100, new FileInfo(snapshot).Length);
        Assert.Equal(Enumerable.Range(0, 93).Select(i => (byte)i), File.ReadAllBytes(newest)); // the head is intact
    }

    [Fact]
    public void EqualTimes_PickTheLargestName()
    {
        Write("0001.seg", 10, s_t0);
        var later = Write("0002.seg", 10, s_t0);
        Assert.Equal(later, TornWrite.TruncateNewestFile(_dir.FullName, 1)!.Path);
    }

    [Fact]
    public void MoreBytesThanTheFileHas_EmptiesIt()
    {
        var path = Write("a.log", 5, s_t0);
        Assert.Equal(0, TornWrite.TruncateNewestFile(_dir.FullName, 64)!.LengthAfter);
        Assert.Equal(0, new FileInfo(path).Length);
    }

    [Fact]
    public void SearchPattern_LimitsTheCandidates()
    {
        var log = Write("a.log", 10, s_t0);
        Write("b.tmp", 10, s_t0.AddSeconds(1));
        Assert.Equal(log, TornWrite.TruncateNewestFile(_dir.FullName, 1, "*.log")!.Path);
    }

    [Fact]
    public void EmptyDirectory_ReturnsNull() =>
        Assert.Null(TornWrite.TruncateNewestFile(_dir.FullName, 1));
}
