using System.Net;
using DinoSharp.Models;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace DinoSharp.Server;

/// <summary>
/// `dino serve`: a local web explorer over an embedding store — gallery, search by click or upload, near-duplicates,
/// k-means clusters and patch-similarity maps. <see cref="StartAsync"/> listens at once (the page shows the embedding
/// progress) and builds the index in the background.
/// </summary>
public sealed class ExplorerServer : IAsyncDisposable
{
    readonly WebApplication app;
    readonly CancellationTokenSource stopping;

    ExplorerServer(WebApplication app, ExplorerIndex index, Uri address, Task build, CancellationTokenSource stopping)
    {
        this.app = app;
        this.stopping = stopping;
        Index = index;
        Address = address;
        Built = build;
    }

    /// <summary>The index the API answers from.</summary>
    public ExplorerIndex Index { get; }
    /// <summary>Where the page is, e.g. http://127.0.0.1:8765/.</summary>
    public Uri Address { get; }
    /// <summary>Completes when the index is ready (faults when building it failed).</summary>
    public Task Built { get; }

    /// <summary>Opens the model and data, starts listening and starts building the index.</summary>
    /// <param name="options">What to serve and where.</param>
    /// <param name="openModel">Opens the model (argument: the raw-pixel side for "raw"); null: <see cref="ModelResolver.Open(string, ModelRequest, IEnumerable{IModelFormat})"/> (a .onnx file through ONNX Runtime), with the options' model, arch, features and size (`dino serve` passes the CLI's own opener, which adds --backend, --layout and --device).</param>
    /// <param name="log">Progress and warnings (default: stderr).</param>
    /// <exception cref="ExplorerStartException">The data, the model, or the address cannot be used.</exception>
    public static async Task<ExplorerServer> StartAsync(ExplorerOptions options, Func<int, IImageEmbedder>? openModel = null, TextWriter? log = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        log ??= Console.Error;
        if (options.BatchSize < 1) throw new ExplorerStartException($"--batch-size {options.BatchSize}: must be at least 1.");
        if (options.Port is < 0 or > 65535) throw new ExplorerStartException($"--port {options.Port}: must be 0 (any free port) to 65535.");
        openModel ??= raw => OpenModel(options, raw);
        var index = ExplorerIndex.Open(options, openModel, TextWriter.Synchronized(log));

        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(k =>
        {
            k.Listen(options.Host, options.Port);
            k.Limits.MaxRequestBodySize = options.MaxUploadBytes + 1;   // Kestrel's own cap; Upload answers 413 with a message first
        });
        var app = builder.Build();
        app.Use(Errors);
        StaticPage.Map(app);
        ExplorerApi.Map(app, index, options);
        app.MapFallback((HttpContext c) => Results.Json(new ErrorResponse($"no such page or API '{Truncate(c.Request.Path)}'."), statusCode: StatusCodes.Status404NotFound));
        try
        {
            await app.StartAsync();
        }
        catch (IOException e)
        {
            index.Dispose();
            await app.DisposeAsync();
            throw new ExplorerStartException($"cannot listen on {options.Host}:{options.Port} ({ExplorerIndex.OneLine(e.Message)}); choose another --port.", e);
        }
        var address = new Uri(app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First().Replace("[::]", "localhost") + "/");
        var stopping = new CancellationTokenSource();
        var build = Task.Run(() => index.Build(stopping.Token));
        return new ExplorerServer(app, index, address, build, stopping);
    }

    /// <summary>The default model opener: the library's resolver, every --model form it knows (a .onnx file through ONNX Runtime).</summary>
    static IImageEmbedder OpenModel(ExplorerOptions options, int rawSize) =>
        ModelResolver.Open(options.Model, new ModelRequest
        {
            Kind = ModelResolver.IsRawPixels(options.Model) ? FeatureKind.Cls : BackboneEmbedder.ParseKind(options.Features ?? "cls"),
            Arch = options.Arch,
            ImageSize = options.ImageSize,
            RawSize = rawSize,
        });

    /// <summary>Waits until the host is stopped (SIGTERM, or <paramref name="cancel"/>).</summary>
    public Task WaitForShutdownAsync(CancellationToken cancel = default) => app.WaitForShutdownAsync(cancel);

    /// <summary>
    /// Serves until stopped, writing one line to <paramref name="log"/> when the index is ready; a failed build (a
    /// store of another model, a held store, a corrupt store) ends it with <see cref="ExplorerStartException"/>.
    /// </summary>
    public async Task RunUntilStoppedAsync(TextWriter log, CancellationToken cancel = default)
    {
        ArgumentNullException.ThrowIfNull(log);
        var shutdown = WaitForShutdownAsync(cancel);
        if (await Task.WhenAny(Built, shutdown) == Built)
        {
            if (Built.Exception?.InnerException is { } e)
                throw e as ExplorerStartException ?? new ExplorerStartException(ExplorerIndex.OneLine(e.Message), e);
            log.WriteLine($"Ready: {Index.Message}, {Address}");
        }
        await shutdown;
    }

    /// <summary>Stops listening, waits for the index build to notice, and frees the model and the store.</summary>
    public async ValueTask DisposeAsync()
    {
        await stopping.CancelAsync();
        await app.StopAsync();
        try { await Built; } catch (Exception) { /* reported by the build itself */ }
        await app.DisposeAsync();
        Index.Dispose();
        stopping.Dispose();
    }

    /// <summary>Every refusal as JSON {"error": "…"} with its status; anything unexpected as a 500 with one line and no stack trace.</summary>
    static async Task Errors(HttpContext context, RequestDelegate next)
    {
        try
        {
            await next(context);
        }
        catch (BadRequestException e)
        {
            await Write(context, e.Status, e.Message);
        }
        catch (Microsoft.AspNetCore.Http.BadHttpRequestException e)
        {
            await Write(context, e.StatusCode, ExplorerIndex.OneLine(e.Message));
        }
        catch (Exception e) when (!context.RequestAborted.IsCancellationRequested)
        {
            await Write(context, StatusCodes.Status500InternalServerError, "internal error: " + ExplorerIndex.OneLine(e.Message));
        }
    }

    static async Task Write(HttpContext context, int status, string message)
    {
        if (context.Response.HasStarted) return;
        context.Response.Clear();
        context.Response.StatusCode = status;
        await context.Response.WriteAsJsonAsync(new ErrorResponse(message));
    }

    static string Truncate(PathString path) => path.Value is { Length: > 60 } v ? v[..60] + "…" : path.Value ?? "";
}
