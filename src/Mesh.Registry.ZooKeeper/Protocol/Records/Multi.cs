using Mesh.Registry.ZooKeeper.Jute;

namespace Mesh.Registry.ZooKeeper.Protocol.Records;

/// <summary>One op of a multi or multiRead request: its type and its request record.</summary>
public sealed record MultiOp(OpCode Type, IJuteWritable Request);

/// <summary>
/// The body of multi and multiRead: each op as a <see cref="MultiHeader"/> and its request record,
/// ended by <see cref="MultiHeader.End"/>. Only the op types ZooKeeper allows there are read; any
/// other type makes the frame malformed.
/// </summary>
public static class MultiRequest
{
    public static List<MultiOp> Read(ref JuteReader reader, bool readOnly)
    {
        var ops = new List<MultiOp>();
        while (true)
        {
            var header = MultiHeader.Read(ref reader);
            if (header.Done)
                return ops;
            var type = (OpCode)header.Type;
            IJuteWritable request = (type, readOnly) switch
            {
                (OpCode.Create or OpCode.Create2 or OpCode.CreateContainer, false) => CreateRequest.Read(ref reader),
                (OpCode.CreateTtl, false) => CreateTtlRequest.Read(ref reader),
                (OpCode.Delete, false) => DeleteRequest.Read(ref reader),
                (OpCode.SetData, false) => SetDataRequest.Read(ref reader),
                (OpCode.Check, false) => CheckVersionRequest.Read(ref reader),
                (OpCode.GetChildren or OpCode.GetData, true) => PathWatchRequest.Read(ref reader),
                _ => throw new JuteFormatException($"op type {header.Type} is not allowed in a {(readOnly ? "multiRead" : "multi")} request"),
            };
            ops.Add(new MultiOp(type, request));
        }
    }

    public static void Write(JuteWriter writer, IEnumerable<MultiOp> ops)
    {
        foreach (var op in ops)
        {
            new MultiHeader((int)op.Type, false, -1).Write(writer);
            op.Request.Write(writer);
        }
        MultiHeader.End.Write(writer);
    }
}

/// <summary>One result of a multi or multiRead reply: the op type (or -1 for an error) with its error code, and the response record (null for delete and check).</summary>
public sealed record MultiResult(int Type, int Err, IJuteWritable? Response)
{
    public static MultiResult Failure(ZkError error) => new((int)OpCode.Error, (int)error, new IntResponse((int)error));
}

/// <summary>The body of a multi reply: each result as a <see cref="MultiHeader"/> and its record, ended by <see cref="MultiHeader.End"/>.</summary>
public sealed record MultiResponse(IReadOnlyList<MultiResult> Results) : IJuteWritable
{
    public void Write(JuteWriter writer) => Write(writer, Results);

    public static void Write(JuteWriter writer, IEnumerable<MultiResult> results)
    {
        foreach (var result in results)
        {
            new MultiHeader(result.Type, false, result.Err).Write(writer);
            result.Response?.Write(writer);
        }
        MultiHeader.End.Write(writer);
    }

    public static List<MultiResult> Read(ref JuteReader reader)
    {
        var results = new List<MultiResult>();
        while (true)
        {
            var header = MultiHeader.Read(ref reader);
            if (header.Done)
                return results;
            IJuteWritable? response = (OpCode)header.Type switch
            {
                OpCode.Create => PathResponse.Read(ref reader),
                OpCode.Create2 or OpCode.CreateContainer or OpCode.CreateTtl => Create2Response.Read(ref reader),
                OpCode.SetData => StatResponse.Read(ref reader),
                OpCode.GetData => GetDataResponse.Read(ref reader),
                OpCode.GetChildren => StringListResponse.Read(ref reader),
                OpCode.Error => IntResponse.Read(ref reader),
                OpCode.Delete or OpCode.Check => null,
                _ => throw new JuteFormatException($"op type {header.Type} in a multi reply"),
            };
            results.Add(new MultiResult(header.Type, header.Err, response));
        }
    }
}
