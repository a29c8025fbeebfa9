using System.Text.Json;
using System.Text.Json.Serialization;

namespace Mesh.Registry.Contracts;

/// <summary>
/// The one serializer context of the registry API, used by the server, the client and the
/// benchmark client. camelCase names; null fields left out unless a record says otherwise; numbers
/// only as JSON numbers (a quoted number is refused, as the server always did).
/// </summary>
[JsonSourceGenerationOptions(JsonSerializerDefaults.Web,
    DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    NumberHandling = JsonNumberHandling.Strict)]
[JsonSerializable(typeof(ErrorResponse))]
[JsonSerializable(typeof(NodeResponse))]
[JsonSerializable(typeof(ChildrenResponse))]
[JsonSerializable(typeof(WriteResponse))]
[JsonSerializable(typeof(TxnRequest))]
[JsonSerializable(typeof(TxnOpRequest))]
[JsonSerializable(typeof(TxnResponse))]
[JsonSerializable(typeof(SessionOpenRequest))]
[JsonSerializable(typeof(SessionResponse))]
[JsonSerializable(typeof(SessionListResponse))]
[JsonSerializable(typeof(WatchResponse))]
[JsonSerializable(typeof(WatchStreamRecord))]
[JsonSerializable(typeof(ServicesResponse))]
[JsonSerializable(typeof(ServiceResponse))]
[JsonSerializable(typeof(InstanceDocument))]
[JsonSerializable(typeof(ServiceOwner))]
[JsonSerializable(typeof(StatusResponse))]
[JsonSerializable(typeof(HealthResponse))]
[JsonSerializable(typeof(CaSignRequest))]
[JsonSerializable(typeof(CaSignResponse))]
[JsonSerializable(typeof(CaRootResponse))]
[JsonSerializable(typeof(CaRevokeRequest))]
[JsonSerializable(typeof(CaRevokeResponse))]
public sealed partial class RegistryJson : JsonSerializerContext;
