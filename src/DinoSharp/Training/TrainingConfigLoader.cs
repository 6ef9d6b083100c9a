using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;
using DinoSharp.Data;

namespace DinoSharp.Training;

/// <summary>
/// Resolves a training configuration: reference defaults, then a JSON file, then <c>key=value</c> overrides.
/// Every key of the file and of the overrides must exist in the defaults (unknown keys are refused with a suggestion).
/// </summary>
public static class TrainingConfigLoader
{
    /// <summary>The config JSON format: snake_case keys, indented, scale ranges as [min, max] arrays.</summary>
    public static readonly JsonSerializerOptions JsonOptions = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        WriteIndented = true,
        Converters = { new ScaleRangeConverter(), ConfigNames.Centering, ConfigNames.ScalingRule, ConfigNames.FfnLayer, ConfigNames.Precision },
    };

    /// <summary>Defaults ← file (optional) ← overrides ("section.key=value", value as JSON or a bare string).</summary>
    public static DinoTrainingConfig Resolve(string? configFile, IEnumerable<string>? overrides = null, DinoTrainingConfig? defaults = null)
    {
        if (configFile is null) return ResolveText(null, "", overrides, defaults);
        if (!File.Exists(configFile)) throw new ConfigException($"{configFile}: config file not found.");
        return ResolveText(File.ReadAllText(configFile), configFile, overrides, defaults);
    }

    /// <summary>
    /// Defaults ← the config JSON <paramref name="json"/> (optional; comments and trailing commas allowed) ← overrides.
    /// <paramref name="source"/> names the text in error messages (a file name, or e.g. "configs/photos_cpu.json").
    /// </summary>
    public static DinoTrainingConfig ResolveText(string? json, string source, IEnumerable<string>? overrides = null, DinoTrainingConfig? defaults = null)
    {
        var root = JsonSerializer.SerializeToNode(defaults ?? new DinoTrainingConfig(), JsonOptions)!.AsObject();
        // Left out of the JSON while "auto" (see DinoTrainingConfig.Precision), but a key a file or --set may give.
        root.TryAdd("precision", ConfigNames.Precision.NameOf(Layers.Precision.Auto));
        if (json is not null)
        {
            JsonNode? file;
            try { file = JsonNode.Parse(json, documentOptions: new JsonDocumentOptions { CommentHandling = JsonCommentHandling.Skip, AllowTrailingCommas = true }); }
            catch (JsonException e) { throw new ConfigException($"{source}: not valid JSON ({e.Message})."); }
            if (file is not JsonObject obj) throw new ConfigException($"{source}: the config must be a JSON object of sections.");
            Merge(root, obj, "", source);
        }
        foreach (var assignment in overrides ?? [])
            Apply(root, assignment);
        try
        {
            return root.Deserialize<DinoTrainingConfig>(JsonOptions) ?? throw new ConfigException("Empty configuration.");
        }
        catch (JsonException e)
        {
            string key = (e.Path ?? "$").TrimStart('$', '.');
            throw new ConfigException(e is ConfigValueException
                ? $"{key} = {e.Message}"
                : $"Config key '{key}' has a value of the wrong type ({FirstSentence(e.Message)}).");
        }
    }

    /// <summary>The resolved config as written to a run's config.json (every key, readable back by <see cref="Resolve"/>).</summary>
    /// <remarks>
    /// The <c>gram</c> section is written only when it differs from its defaults (Gram anchoring off), so a run folder
    /// started before the section existed keeps the same config text and hash, and resumes.
    /// </remarks>
    public static string ToJson(DinoTrainingConfig config)
    {
        ArgumentNullException.ThrowIfNull(config);
        if (config.Gram != new GramConfig()) return JsonSerializer.Serialize(config, JsonOptions);
        var node = JsonSerializer.SerializeToNode(config, JsonOptions)!.AsObject();
        node.Remove("gram");
        return node.ToJsonString(JsonOptions);
    }

    /// <summary>
    /// The keys whose values differ between two resolved configs, as "key: old → new" (for a resume against a run that
    /// was started with another config, e.g. another student.arch).
    /// </summary>
    public static IReadOnlyList<string> Differences(string oldJson, string newJson)
    {
        var diffs = new List<string>();
        Compare(JsonNode.Parse(oldJson), JsonNode.Parse(newJson), "", diffs);
        return diffs;
    }

    static void Compare(JsonNode? a, JsonNode? b, string path, List<string> diffs)
    {
        if (a is JsonObject oa && b is JsonObject ob)
        {
            foreach (var key in oa.Select(kv => kv.Key).Union(ob.Select(kv => kv.Key)))
                Compare(oa[key], ob[key], path.Length == 0 ? key : path + "." + key, diffs);
        }
        else if (!JsonNode.DeepEquals(a, b))
        {
            diffs.Add($"{path}: {a?.ToJsonString() ?? "null"} → {b?.ToJsonString() ?? "null"}");
        }
    }

    /// <summary>Applies one "a.b=value" override.</summary>
    public static void Apply(JsonObject root, string assignment)
    {
        int eq = assignment.IndexOf('=');
        if (eq <= 0) throw new ConfigException($"--set '{assignment}': expected section.key=value, e.g. --set optim.base_lr=0.001.");
        string path = assignment[..eq].Trim();
        string text = assignment[(eq + 1)..].Trim();
        var parts = path.Split('.');
        JsonObject node = root;
        for (int i = 0; i < parts.Length; i++)
        {
            string prefix = string.Join('.', parts[..i]);
            if (!node.ContainsKey(parts[i])) throw Unknown(prefix, parts[i], node);
            if (i == parts.Length - 1)
            {
                if (node[parts[i]] is JsonObject) throw new ConfigException($"--set {path}: '{path}' is a section; set one of its keys ({string.Join(", ", ((JsonObject)node[parts[i]]!).Select(kv => path + "." + kv.Key))}).");
                node[parts[i]] = ParseValue(text);
            }
            else
            {
                node = node[parts[i]] as JsonObject ?? throw new ConfigException($"--set {path}: '{string.Join('.', parts[..(i + 1)])}' is a value, not a section.");
            }
        }
    }

    static JsonNode? ParseValue(string text)
    {
        try { return JsonNode.Parse(text); }
        catch (JsonException) { return JsonValue.Create(text); }
    }

    static void Merge(JsonObject target, JsonObject source, string prefix, string file)
    {
        foreach (var (key, value) in source)
        {
            if (!target.ContainsKey(key)) throw Unknown(prefix, key, target, file);
            string path = prefix.Length == 0 ? key : prefix + "." + key;
            if (target[key] is JsonObject t && value is JsonObject s) Merge(t, s, path, file);
            else if (target[key] is JsonObject) throw new ConfigException($"{file}: '{path}' is a section and must be a JSON object.");
            else target[key] = value?.DeepClone();
        }
    }

    static ConfigException Unknown(string prefix, string key, JsonObject known, string? file = null)
    {
        string full = prefix.Length == 0 ? key : prefix + "." + key;
        var best = ConfigNames.Suggest(key, known.Select(kv => kv.Key));
        string hint = best is not null
            ? $" Did you mean '{(prefix.Length == 0 ? best : prefix + "." + best)}'?"
            : $" Known keys{(prefix.Length == 0 ? "" : " of " + prefix)}: {string.Join(", ", known.Select(kv => kv.Key))}.";
        return new ConfigException($"{(file is null ? "" : file + ": ")}unknown config key '{full}'.{hint}");
    }

    static string FirstSentence(string s)
    {
        int i = s.IndexOf(". ", StringComparison.Ordinal);
        return i > 0 ? s[..i] : s.TrimEnd('.');
    }

    /// <summary>Reads a scale range as the reference writes it, [min, max]; writes it the same way.</summary>
    sealed class ScaleRangeConverter : JsonConverter<ScaleRange>
    {
        public override ScaleRange Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
        {
            var values = JsonSerializer.Deserialize<double[]>(ref reader, options);
            if (values is not { Length: 2 }) throw new JsonException("expected [min, max]");
            return new ScaleRange(values[0], values[1]);
        }

        public override void Write(Utf8JsonWriter writer, ScaleRange value, JsonSerializerOptions options)
        {
            writer.WriteStartArray();
            writer.WriteNumberValue(value.Min);
            writer.WriteNumberValue(value.Max);
            writer.WriteEndArray();
        }
    }
}
