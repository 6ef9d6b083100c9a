using System.Reflection;

namespace DinoSharp.Server;

/// <summary>The page's files, embedded in this assembly: served by exact name only (anything else is a 404).</summary>
static class StaticPage
{
    static readonly Dictionary<string, (byte[] Bytes, string Type)> Files = Load();

    /// <summary>Maps "/" to index.html and "/static/{name}" to the embedded files.</summary>
    public static void Map(WebApplication app)
    {
        app.MapGet("/", () => Serve("index.html"));
        app.MapGet("/static/{name}", (string name) => Serve(name));
    }

    static IResult Serve(string name) => Files.TryGetValue(name, out var f)
        ? Results.Bytes(f.Bytes, f.Type)
        : Results.Json(new ErrorResponse($"no such page file '{(name.Length > 40 ? name[..40] + "…" : name)}'."), statusCode: StatusCodes.Status404NotFound);

    static Dictionary<string, (byte[], string)> Load()
    {
        var assembly = Assembly.GetExecutingAssembly();
        var files = new Dictionary<string, (byte[], string)>(StringComparer.Ordinal);
        foreach (var resource in assembly.GetManifestResourceNames().Where(n => n.StartsWith("wwwroot/", StringComparison.Ordinal)))
        {
            using var stream = assembly.GetManifestResourceStream(resource)!;
            using var copy = new MemoryStream();
            stream.CopyTo(copy);
            string name = resource["wwwroot/".Length..];
            string type = Path.GetExtension(name) switch
            {
                ".html" => "text/html; charset=utf-8",
                ".js" => "text/javascript; charset=utf-8",
                ".css" => "text/css; charset=utf-8",
                ".svg" => "image/svg+xml",
                _ => "application/octet-stream",
            };
            files[name] = (copy.ToArray(), type);
        }
        return files;
    }
}
