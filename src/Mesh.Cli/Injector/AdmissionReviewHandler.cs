using System.Text.Json;
using System.Text.Json.Nodes;
using Mesh.Cli.Inject;
using YamlDotNet.RepresentationModel;

namespace Mesh.Cli.Injector;

/// <summary>Which pods the webhook configuration entry that called us sends (its URL path says).</summary>
internal enum InjectionScope
{
    /// <summary>Every pod of a namespace labelled <c>mesh.dev/inject=enabled</c>: injected unless it opts out.</summary>
    Namespace,

    /// <summary>Pods of other namespaces: injected only when the pod opts in itself.</summary>
    Workload,
}

/// <summary>What the MutatingWebhookConfiguration does when the webhook fails, so a pod we cannot inject gets the same.</summary>
internal enum FailurePolicy
{
    /// <summary>The pod is refused, with the reason.</summary>
    Fail,

    /// <summary>The pod is admitted unchanged, with the reason as a warning.</summary>
    Ignore,
}

/// <summary>The body is not an AdmissionReview we can answer (no request, no uid): the API server then applies its failure policy.</summary>
internal sealed class AdmissionReviewException(string message) : Exception(message);

/// <summary>
/// The webhook's decision for one AdmissionReview v1, without I/O: which pods to inject (the
/// namespace's or the pod's opt-in, the pod's opt-out, never twice), the injection itself by
/// <see cref="PodInjection"/> (the same as <c>mesh inject</c>), and the answer: a JSON Patch from
/// the pod as sent to the pod as injected, or the pod unchanged, or a refusal.
/// </summary>
internal sealed class AdmissionReviewHandler(InjectOptions options, FailurePolicy failurePolicy)
{
    /// <summary>A namespace or pod label, or a pod annotation: <c>enabled</c> opts in, <c>disabled</c> opts out.</summary>
    public const string InjectKey = "mesh.dev/inject";
    public const string ApiVersion = "admission.k8s.io/v1";

    public JsonObject Review(JsonNode? body, InjectionScope scope)
    {
        if (body is not JsonObject review)
            throw new AdmissionReviewException("the body is not an AdmissionReview: not a JSON object");
        if (Text(review["apiVersion"]) != ApiVersion || Text(review["kind"]) != "AdmissionReview")
            throw new AdmissionReviewException($"the body is not an AdmissionReview {ApiVersion}: apiVersion is '{Text(review["apiVersion"])}', kind is '{Text(review["kind"])}'");
        if (review["request"] is not JsonObject request)
            throw new AdmissionReviewException("the AdmissionReview has no request");
        if (Text(request["uid"]) is not { Length: > 0 } uid)
            throw new AdmissionReviewException("the AdmissionReview's request has no uid");

        return Answer(uid, Decide(request, scope));
    }

    private sealed record Decision(bool Allowed, JsonArray? Patch, string Note, string? Problem = null);

    private Decision Decide(JsonObject request, InjectionScope scope)
    {
        if (Text(Get(Get(request, "kind"), "kind")) != "Pod" || Text(request["operation"]) != "CREATE")
            return Unchanged("not a pod being created");
        if (request["object"] is not JsonObject pod)
            return Refuse("request.object is not a pod");
        var metadata = pod["metadata"] as JsonObject;
        var choice = Choice(metadata);
        if (choice == "disabled")
            return Unchanged($"opted out ({InjectKey}: disabled)");
        if (scope == InjectionScope.Workload && choice != "enabled")
            return Unchanged($"not opted in (neither the namespace nor the pod has {InjectKey}: enabled)");

        var ns = Text(request["namespace"]) ?? Text(Get(metadata, "namespace")) ?? "default";
        var name = Text(Get(metadata, "name")) ?? Text(Get(metadata, "generateName"))?.TrimEnd('-') ?? "pod";
        if (YamlJson.ToYaml(pod) is not YamlMappingNode template)
            return Refuse("request.object is not a pod");
        var site = new PodSite(null, 0, $"pod '{name}' in namespace '{ns}'", "spec", ns, name);
        var result = PodInjection.Inject(template, site, options);
        return result.Status switch
        {
            PodInjectionStatus.AlreadyInjected => Unchanged("already injected"),
            PodInjectionStatus.Refused => Refuse(string.Join("; ", result.Problems)),
            _ => new Decision(true, JsonPatchDiff.Diff(pod, YamlJson.ToJson(template)), "injected"),
        };
    }

    /// <summary>The pod's own choice: its annotation, else its label.</summary>
    private static string? Choice(JsonObject? metadata) =>
        Text(Get(Get(metadata, "annotations"), InjectKey)) ?? Text(Get(Get(metadata, "labels"), InjectKey));

    /// <summary>A member of an object; null for anything else (a malformed review must not throw).</summary>
    private static JsonNode? Get(JsonNode? node, string key) => node is JsonObject obj && obj.TryGetPropertyValue(key, out var value) ? value : null;

    private static Decision Unchanged(string why) => new(true, null, why);

    private Decision Refuse(string problem) => failurePolicy == FailurePolicy.Fail
        ? new Decision(false, null, "refused", problem)
        : new Decision(true, null, "not injected", problem);

    private static JsonObject Answer(string uid, Decision decision)
    {
        var response = new JsonObject { ["uid"] = uid, ["allowed"] = decision.Allowed };
        if (decision.Patch is { Count: > 0 } patch)
        {
            response["patchType"] = "JSONPatch";
            response["patch"] = Convert.ToBase64String(JsonSerializer.SerializeToUtf8Bytes(patch));
        }
        if (decision.Problem is { } problem)
        {
            var message = $"mesh injector: cannot inject: {problem}";
            if (decision.Allowed)
                response["warnings"] = new JsonArray(message);
            else
                response["status"] = new JsonObject { ["code"] = 400, ["reason"] = "BadRequest", ["message"] = message };
        }
        // The audit log says why each pod was or was not injected.
        response["auditAnnotations"] = new JsonObject { ["injection"] = decision.Note };
        return new JsonObject { ["apiVersion"] = ApiVersion, ["kind"] = "AdmissionReview", ["response"] = response };
    }

    private static string? Text(JsonNode? node) =>
        node is JsonValue value && value.GetValueKind() == JsonValueKind.String ? value.GetValue<string>() : null;
}
