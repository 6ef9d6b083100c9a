using System.Globalization;
using System.Reflection;
using Spectre.Console.Cli;

namespace DinoSharp.Cli.Parsing;

/// <summary>
/// Checks a command line against the verbs and their settings types before Spectre.Console.Cli parses it, so that a
/// misspelt verb or option, a missing value or a value of the wrong type is one line in a user's words ("did you mean
/// --steps?", "--steps abc: expected a whole number") rather than silently ignored or reported in .NET type names.
/// </summary>
internal static class ArgumentCheck
{
    /// <summary>Options every verb accepts that no settings type declares.</summary>
    static readonly string[] Universal = ["--help", "-h"];

    /// <summary>Throws <see cref="UserErrorException"/> for the first problem of <paramref name="args"/>; verbs maps a verb (or "export onnx") to its settings type.</summary>
    public static void Validate(IReadOnlyList<string> args, IReadOnlyDictionary<string, Type> verbs, IReadOnlyCollection<string> shownVerbs)
    {
        if (args.Count == 0 || args[0] is "--help" or "-h" or "--version" or "-v") return;
        string verb = args[0];
        int next = 1;
        if (verb.StartsWith('-'))
            throw new UserErrorException($"{verb}: expected a command first, e.g. dino train --minutes 10 (dino help lists them).");
        if (!verbs.ContainsKey(verb) && ConventionalSettings(verb, verbs) is { } settings)
        {
            // A verb registered without being recorded in the table (its command type is <Verb>Command): still checked.
            CheckOptions(verb, args.Skip(1).ToList(), settings);
            return;
        }
        if (!verbs.ContainsKey(verb))
        {
            // A branch ("export"): its sub-verb is the next word.
            var branch = verbs.Keys.Where(k => k.StartsWith(verb + " ", StringComparison.Ordinal)).ToList();
            if (branch.Count > 0)
            {
                if (args.Count < 2 || args[1].StartsWith('-')) return;   // `dino export` / `dino export --help`: Spectre's help
                string full = verb + " " + args[1];
                if (!verbs.ContainsKey(full))
                    throw new UserErrorException($"unknown command '{full}'" + Hint(args[1], branch.Select(b => b[(verb.Length + 1)..])) + $" (dino {verb} --help lists them).");
                verb = full;
                next = 2;
            }
            else
            {
                throw new UserErrorException($"unknown command '{verb}'" + Hint(verb, shownVerbs.Concat(ConventionalVerbs(verbs))) + " (dino help lists them).");
            }
        }
        CheckOptions(verb, args.Skip(next).ToList(), verbs[verb]);
    }

    /// <summary>Command types of this assembly that no recorded verb uses, by the verb their name implies (ServeCommand: serve).</summary>
    static IEnumerable<(string Verb, Type Settings)> Unrecorded(IReadOnlyDictionary<string, Type> verbs) =>
        typeof(ArgumentCheck).Assembly.GetTypes()
            .Where(t => !t.IsAbstract && t.Name.EndsWith("Command", StringComparison.Ordinal) && SettingsOf(t) is not null)
            .Select(t => (Verb: t.Name[..^"Command".Length].ToLowerInvariant(), Settings: SettingsOf(t)!))
            .Where(x => !verbs.Values.Contains(x.Settings));

    static Type? ConventionalSettings(string verb, IReadOnlyDictionary<string, Type> verbs) =>
        Unrecorded(verbs).FirstOrDefault(x => x.Verb == verb).Settings;

    static IEnumerable<string> ConventionalVerbs(IReadOnlyDictionary<string, Type> verbs) => Unrecorded(verbs).Select(x => x.Verb);

    static Type? SettingsOf(Type command)
    {
        for (var t = command; t is not null; t = t.BaseType)
            if (t.IsGenericType && t.GetGenericTypeDefinition() == typeof(Command<>)) return t.GetGenericArguments()[0];
        return null;
    }

    static string Hint(string word, IEnumerable<string> known) =>
        Suggest.Closest(word, known) is { } s ? $"; did you mean '{s}'?" : "";

    static void CheckOptions(string verb, List<string> rest, Type settings)
    {
        var options = OptionsOf(settings);
        int positional = settings.GetProperties().Count(p => p.GetCustomAttribute<CommandArgumentAttribute>() is not null);
        int seenPositional = 0;
        string shown = verb == "embed-merge" ? "embed merge" : verb;
        for (int i = 0; i < rest.Count; i++)
        {
            string token = rest[i];
            if (!token.StartsWith('-') || token == "-" || IsNumber(token))
            {
                if (++seenPositional > positional)
                    throw new UserErrorException($"unexpected argument '{token}' (options start with --; dino {shown} --help lists them).");
                continue;
            }
            int eq = token.IndexOf('=');
            string name = eq > 0 ? token[..eq] : token;
            if (Universal.Contains(name)) return;   // help wins over everything else, as in Spectre
            if (!options.TryGetValue(name, out var property))
            {
                var known = options.Keys.Where(k => k.StartsWith("--", StringComparison.Ordinal));
                throw new UserErrorException($"unknown option {Shown(name)} for {shown}" + (Suggest.Closest(name, known) is { } s ? $"; did you mean {Shown(s)}?" : "") +
                    $" (dino {shown} --help lists the options).");
            }
            var type = Nullable.GetUnderlyingType(property.PropertyType) ?? property.PropertyType;
            if (type == typeof(bool))
            {
                if (eq > 0 && !bool.TryParse(token[(eq + 1)..], out _))
                    throw new UserErrorException($"{token}: {name} is a switch; give it alone or as {name}=true / {name}=false.");
                continue;
            }
            string value;
            if (eq > 0) value = token[(eq + 1)..];
            else if (i + 1 < rest.Count && (!rest[i + 1].StartsWith("--", StringComparison.Ordinal) || IsNumber(rest[i + 1]))) value = rest[++i];
            else throw new UserErrorException($"{Shown(name)} needs a value, e.g. dino {shown} {Shown(name)} <{ValueName(property)}>.");
            CheckType(Shown(name), value, type.IsArray ? type.GetElementType()! : type);
        }
    }

    static void CheckType(string name, string value, Type type)
    {
        string? expected =
            type == typeof(int) ? (int.TryParse(value, NumberStyles.Integer, CultureInfo.InvariantCulture, out _) ? null : "a whole number")
            : type == typeof(long) ? (long.TryParse(value, NumberStyles.Integer, CultureInfo.InvariantCulture, out _) ? null : "a whole number")
            : type == typeof(double) ? (double.TryParse(value, NumberStyles.Float, CultureInfo.InvariantCulture, out var d) && double.IsFinite(d) ? null : "a number")
            : type == typeof(float) ? (float.TryParse(value, NumberStyles.Float, CultureInfo.InvariantCulture, out var f) && float.IsFinite(f) ? null : "a number")
            : null;
        if (expected is not null)
            throw new UserErrorException($"{name} {value}: expected {expected}, e.g. {name} {(expected == "a number" ? "0.5" : "20")}.");
    }

    /// <summary>The option as documented: `--k` is rewritten to `--ks` before parsing (see DinoApp).</summary>
    static string Shown(string option) => option == "--ks" ? "--k" : option;

    static bool IsNumber(string token) => double.TryParse(token, NumberStyles.Float, CultureInfo.InvariantCulture, out _);

    static string ValueName(PropertyInfo p) => p.GetCustomAttribute<CommandOptionAttribute>()?.ValueName ?? "a value";

    /// <summary>Every spelling (--long and -s) of every option of a settings type and its base types.</summary>
    public static Dictionary<string, PropertyInfo> OptionsOf(Type settings)
    {
        var map = new Dictionary<string, PropertyInfo>(StringComparer.Ordinal);
        foreach (var p in settings.GetProperties(BindingFlags.Public | BindingFlags.Instance))
        {
            if (p.GetCustomAttribute<CommandOptionAttribute>() is not { } option) continue;
            foreach (var l in option.LongNames) map["--" + l] = p;
            foreach (var s in option.ShortNames) map["-" + s] = p;
        }
        return map;
    }
}
