using System.Text.Json;
using DinoSharp.Cli;
using Microsoft.Playwright;

namespace DinoSharp.Tests.Serve;

/// <summary>
/// The page in Debian's Chromium driven by Playwright: every view works as a user would use it, and agrees with the API
/// and with `dino search --json`. Each test writes a screenshot of its view into the test's folder, or into the folder
/// DINOSHARP_SCREENSHOTS names (docs/explorer/ for the documentation's pictures), so a test run never rewrites the docs.
/// </summary>
[Collection(ExplorerCollection.Name)]
[Trait("Category", "Browser")]
public sealed class ExplorerBrowserTests(ExplorerFixture fx) : IAsyncLifetime
{
    IPlaywright playwright = null!;
    IBrowser browser = null!;
    IPage page = null!;
    readonly List<string> problems = [];

    public async Task InitializeAsync()
    {
        if (!File.Exists(BrowserFactAttribute.Chromium)) return;
        playwright = await Playwright.CreateAsync();
        browser = await playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
        {
            ExecutablePath = BrowserFactAttribute.Chromium, Headless = true, Args = ["--no-sandbox", "--disable-gpu"],
        });
        page = await browser.NewPageAsync(new BrowserNewPageOptions { ViewportSize = new ViewportSize { Width = 1400, Height = 900 } });
        page.Console += (_, m) => { if (m.Type == "error") problems.Add("console: " + m.Text); };
        page.PageError += (_, e) => problems.Add("page error: " + e);
        page.RequestFailed += (_, r) => problems.Add("request failed: " + r.Url);
        page.Response += (_, r) => { if (r.Status >= 400) problems.Add($"HTTP {r.Status}: {r.Url}"); };
    }

    public async Task DisposeAsync()
    {
        if (browser is not null) await browser.DisposeAsync();
        playwright?.Dispose();
    }

    [BrowserFact]
    public async Task TheGalleryLoadsEveryThumbnailWithoutAFailedImageOrAConsoleError()
    {
        await OpenGallery();
        int loaded = await page.EvaluateAsync<int>("[...document.querySelectorAll('#gallery img')].filter(i => i.complete && i.naturalWidth > 0).length");
        Assert.Equal(fx.PhotoFiles.Count, loaded);
        Assert.Empty(problems);
        await Screenshot("gallery");
    }

    [BrowserFact]
    public async Task ClickingAnImageListsItsNeighboursInTheOrderAndWithTheScoresOfDinoSearch()
    {
        await OpenGallery();
        int row = 3;
        await page.Locator($"#gallery .tile[data-index='{row}']").ClickAsync();
        var hits = await Hits(fx.PhotoFiles.Count);
        var expected = DinoSearch(fx.PhotoFiles[row], fx.PhotoFiles.Count);
        Assert.Equal(expected.Select(h => h.Index), hits.Select(h => h.Index));
        // The page searches with the stored row; `dino search --query <file>` embeds the file again (alone, not in a
        // batch of 8), so the scores agree to float rounding, not bit for bit (the upload test checks the exact path).
        foreach (var (e, a) in expected.Zip(hits)) Assert.Equal((double)e.Score, a.Score, 1e-5);
        Assert.Equal(row, hits[0].Index);
        Assert.Empty(problems);
        await Screenshot("search");
    }

    [BrowserFact]
    public async Task UploadingAPhotoListsTheNeighboursThatDinoSearchFindsForIt()
    {
        await OpenGallery();
        // A photo that is not in the index: its neighbours come from the model alone.
        string query = Training.TestPhotos.Files().First(f => !fx.PhotoFiles.Any(p => Path.GetFileName(p) == Path.GetFileName(f)));
        await page.Locator("#tabs button[data-view='search']").ClickAsync();
        await page.Locator("#upload").SetInputFilesAsync(query);
        await page.WaitForFunctionAsync("document.querySelector('#hits').dataset.query === 'upload' && document.querySelectorAll('#hits .hit').length === 12");
        var hits = await Hits(12);
        var expected = DinoSearch(query, 12);
        Assert.Equal(expected.Select(h => h.Index), hits.Select(h => h.Index));
        Assert.Equal(expected.Select(h => h.Score), hits.Select(h => h.Score));   // the same computation: equal bit for bit
        Assert.Empty(problems);
        await Screenshot("upload");
    }

    [BrowserFact]
    public async Task ANonImageUploadShowsAnErrorAndTheServerKeepsServing()
    {
        await OpenGallery();
        string notes = Path.Combine(fx.Dir, "notes.txt");
        File.WriteAllText(notes, "not an image");
        await page.Locator("#tabs button[data-view='search']").ClickAsync();
        await page.Locator("#upload").SetInputFilesAsync(notes);
        var error = page.Locator("#error");
        await error.WaitForAsync(new LocatorWaitForOptions { State = WaitForSelectorState.Visible });
        Assert.Contains("not a recognised image format", await error.InnerTextAsync());
        Assert.Contains(problems, p => p.Contains("HTTP 400"));          // the refusal itself, nothing else
        problems.Clear();
        await Screenshot("upload-error");
        await page.Locator("#tabs button[data-view='gallery']").ClickAsync();
        await page.Locator("#gallery .tile[data-index='0']").ClickAsync();
        Assert.Equal(0, (await Hits(fx.PhotoFiles.Count))[0].Index);
        Assert.Empty(problems);
    }

    [BrowserFact]
    public async Task ThePatchViewLightsUpTheChosenPatchAndFollowsAnotherChoice()
    {
        await OpenGallery();
        await page.Locator("#tabs button[data-view='patches']").ClickAsync();
        await page.Locator("#patch-a").FillAsync("0");
        await page.Locator("#patch-b").FillAsync("1");
        await page.Locator("#patch-size").FillAsync("128");
        await page.Locator("#load-patches").ClickAsync();
        await page.WaitForFunctionAsync("document.querySelector('#sim-a').width === 16");

        var first = await ChoosePatch(5, 9);
        var second = await ChoosePatch(2, 3);
        Assert.NotEqual(first.Same, second.Same);
        Assert.NotEqual(first.Other, second.Other);
        await page.WaitForFunctionAsync("[...document.querySelectorAll('#view-patches img')].every(i => i.complete && i.naturalWidth > 0)");
        Assert.Empty(problems);
        await Screenshot("patches");
    }

    [BrowserFact]
    public async Task TheClusterViewShowsKGroups()
    {
        await OpenGallery();
        await page.Locator("#tabs button[data-view='clusters']").ClickAsync();
        await page.Locator("#k").FillAsync("4");
        await page.Locator("#run-clusters").ClickAsync();
        await page.WaitForFunctionAsync("document.querySelectorAll('#clusters .cluster').length === 4");
        Assert.Equal(4, await page.Locator("#clusters .cluster").CountAsync());
        // Every indexed image is in exactly one cluster: the sizes in the headings add up to the index.
        var headings = await page.Locator("#clusters .cluster h3").AllInnerTextsAsync();
        Assert.Equal(fx.PhotoFiles.Count, headings.Sum(h => int.Parse(h[(h.IndexOf('(') + 1)..h.IndexOf(')')])));
        await page.WaitForFunctionAsync("[...document.querySelectorAll('#clusters img')].every(i => i.complete && i.naturalWidth > 0)");
        Assert.Empty(problems);
        await Screenshot("clusters");

        await page.Locator("#tabs button[data-view='duplicates']").ClickAsync();
        await page.Locator("#threshold").FillAsync("0.97");
        await page.Locator("#find-duplicates").ClickAsync();
        await page.WaitForFunctionAsync("document.querySelector('#duplicates-info').textContent.includes('group')");
        await page.WaitForFunctionAsync("[...document.querySelectorAll('#duplicates img')].every(i => i.complete && i.naturalWidth > 0)");
        Assert.Empty(problems);
        await Screenshot("duplicates");
    }

    /// <summary>Clicks patch (row, col) of image A; checks the canvases against the API's maps and returns their pixels.</summary>
    async Task<(int[] Same, int[] Other)> ChoosePatch(int row, int col)
    {
        var box = (await page.Locator("#patch-pick").BoundingBoxAsync())!;
        await page.Mouse.ClickAsync((float)(box.X + (col + 0.5) * box.Width / 16), (float)(box.Y + (row + 0.5) * box.Height / 16));
        await page.WaitForFunctionAsync($"document.querySelector('#sim-a').dataset.row === '{row}' && document.querySelector('#sim-a').dataset.col === '{col}'");
        var same = await Brightness("sim-a");
        var other = await Brightness("sim-b");
        // A patch is most similar to itself: its cell is at the top of the colour scale (a neighbour within a colour
        // step of it may share that brightest value).
        Assert.Equal(same.Max(), same[row * 16 + col]);
        Assert.True(same.Count(v => v == same.Max()) <= 3, $"{same.Count(v => v == same.Max())} cells share the brightest value");
        using var response = await fx.Http.GetAsync($"/api/patches?a=0&b=1&size=128&row={row}&col={col}");
        var api = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement;
        var apiSame = api.GetProperty("same").EnumerateArray().Select(v => v.GetSingle()).ToArray();
        var apiOther = api.GetProperty("other").EnumerateArray().Select(v => v.GetSingle()).ToArray();
        Assert.Equal(row * 16 + col, ArgMax(apiSame));
        Assert.Equal(other.Max(), other[ArgMax(apiOther)]);
        // The colour scale is monotone: the canvas orders the patches as the API's similarities do (ties aside).
        Assert.True(Concordant(apiOther, other) > 0.95, "canvas B does not follow the API's map");
        return (same, other);
    }

    async Task<int[]> Brightness(string canvas) => await page.EvaluateAsync<int[]>(
        $"(() => {{ const c = document.getElementById('{canvas}'); const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;" +
        " const out = []; for (let i = 0; i < d.length; i += 4) out.push(d[i] + d[i + 1] + d[i + 2]); return out; })()");

    static int ArgMax<T>(T[] values) where T : IComparable<T> =>
        Enumerable.Range(0, values.Length).Aggregate((best, i) => values[i].CompareTo(values[best]) > 0 ? i : best);

    /// <summary>Share of pairs (with distinct canvas values) ordered the same way by both.</summary>
    static double Concordant(float[] api, int[] canvas)
    {
        int agree = 0, total = 0;
        for (int i = 0; i < api.Length; i++)
            for (int j = i + 1; j < api.Length; j++)
            {
                if (canvas[i] == canvas[j]) continue;
                total++;
                if (api[i] > api[j] == canvas[i] > canvas[j]) agree++;
            }
        return total == 0 ? 0 : agree / (double)total;
    }

    async Task OpenGallery()
    {
        await page.GotoAsync(fx.Server.Address.ToString());
        await page.WaitForFunctionAsync($"document.querySelectorAll('#gallery .tile').length === {fx.PhotoFiles.Count}");
        await page.WaitForFunctionAsync("[...document.querySelectorAll('#gallery img')].every(i => i.complete && i.naturalWidth > 0)");
    }

    async Task<List<(long Index, float Score)>> Hits(int count)
    {
        await page.WaitForFunctionAsync($"document.querySelectorAll('#hits .hit').length === {count}");
        var rows = await page.EvaluateAsync<string[][]>("[...document.querySelectorAll('#hits .hit')].map(h => [h.dataset.index, h.dataset.score])");
        return rows.Select(r => (long.Parse(r[0]), float.Parse(r[1], System.Globalization.CultureInfo.InvariantCulture))).ToList();
    }

    /// <summary>`dino search --store … --query file --top k --json` run in process, as a user would run it.</summary>
    List<(long Index, float Score)> DinoSearch(string query, int top)
    {
        string json = Path.Combine(fx.Dir, $"search-{Guid.NewGuid():N}.json");
        var errors = new StringWriter();
        int code = DinoApp.Run(["search", "--store", fx.StorePath, "--query", query, "--top", top.ToString(), "--json", json, "--quiet"], errors);
        Assert.True(code == 0, errors.ToString());
        var hits = JsonDocument.Parse(File.ReadAllText(json)).RootElement.GetProperty("queries")[0].GetProperty("hits");
        return hits.EnumerateArray().Select(h => (h.GetProperty("index").GetInt64(), h.GetProperty("score").GetSingle())).ToList();
    }

    async Task Screenshot(string view)
    {
        string dir = Environment.GetEnvironmentVariable("DINOSHARP_SCREENSHOTS") is { Length: > 0 } chosen
            ? chosen
            : Path.Combine(fx.Dir, "screenshots");
        Directory.CreateDirectory(dir);
        await page.ScreenshotAsync(new PageScreenshotOptions { Path = Path.Combine(dir, view + ".png"), FullPage = true });
    }
}
