using System.Collections.Concurrent;
using System.Diagnostics.CodeAnalysis;

namespace DinoSharp.Data;

/// <summary>
/// The one rule for images a dataset cannot deliver, used by every path that reads a dataset (training, embedding,
/// kNN, linear probe, search queries, visualize, the explorer): an image is unreadable exactly when loading it throws
/// <see cref="ImageDecodeException"/> (the guarded decoder refused it: decompression bomb, truncated, corrupt, empty,
/// not an image, unreadable file). Such an image is skipped with one warning naming it (once per image, however often
/// it is tried) and counted; any other exception is a bug or an environment failure and propagates.
/// Safe to use from several loader threads at once.
/// </summary>
public sealed class UnreadableImages
{
    readonly ConcurrentDictionary<string, string> _messages = new(StringComparer.Ordinal);
    readonly ConcurrentQueue<string> _order = new();
    readonly Action<string>? _warn;

    /// <summary>A tally that sends each skipped image's warning line (see <see cref="WarningFor(string)"/>) to <paramref name="warn"/>.</summary>
    public UnreadableImages(Action<string>? warn = null) => _warn = warn;

    /// <summary>Distinct images skipped so far.</summary>
    public int Count => _messages.Count;

    /// <summary>The decoder's message of each skipped image, in the order they were first met.</summary>
    public IReadOnlyList<string> Messages => _order.ToArray();

    /// <summary>Whether <paramref name="error"/> means "skip this image" (the decision every reader shares).</summary>
    public static bool IsUnreadable(Exception error) => error is ImageDecodeException;

    /// <summary>The warning line for a skipped image: "skipping unreadable image: Cannot decode image '…': reason".</summary>
    public static string WarningFor(ImageDecodeException error)
    {
        ArgumentNullException.ThrowIfNull(error);
        return WarningFor(error.Message);
    }

    /// <summary>The warning line for a skipped image whose decoder message is <paramref name="message"/>.</summary>
    public static string WarningFor(string message)
    {
        ArgumentNullException.ThrowIfNull(message);
        return "skipping unreadable image: " + message.ReplaceLineEndings(" ");
    }

    /// <summary>The end-of-run count line, or null when nothing was skipped.</summary>
    public string? Summary => Count == 0 ? null : $"{Count} unreadable image(s) were skipped.";

    /// <summary>Loads image <paramref name="index"/>; false (recorded and warned once) when it is unreadable.</summary>
    public bool TryLoad(IImageDataset dataset, int index, [NotNullWhen(true)] out RgbImage? image)
    {
        ArgumentNullException.ThrowIfNull(dataset);
        return TryRun(() => dataset.Load(index), out image);
    }

    /// <summary>Decodes the file <paramref name="path"/> with the guarded decoder; false (recorded and warned once) when it is unreadable.</summary>
    public bool TryDecode(string path, [NotNullWhen(true)] out RgbImage? image)
    {
        ArgumentNullException.ThrowIfNull(path);
        return TryRun(() => ImageDecoder.Decode(path), out image);
    }

    /// <summary>Records <paramref name="error"/> as a skipped image (warned only the first time that image is met).</summary>
    public void Record(ImageDecodeException error)
    {
        ArgumentNullException.ThrowIfNull(error);
        if (_messages.TryAdd(error.File, error.Message))
        {
            _order.Enqueue(error.Message);
            _warn?.Invoke(WarningFor(error));
        }
    }

    bool TryRun(Func<RgbImage> load, [NotNullWhen(true)] out RgbImage? image)
    {
        try
        {
            image = load();
            return true;
        }
        catch (ImageDecodeException e)
        {
            Record(e);
            image = null;
            return false;
        }
    }

    /// <summary>
    /// The first image of <paramref name="dataset"/> that loads (e.g. to learn a raw-pixel model's input size), trying
    /// images in order; unreadable ones met on the way are recorded in <paramref name="tally"/> when given.
    /// </summary>
    /// <exception cref="InvalidDataException">No image of the dataset loads.</exception>
    public static RgbImage FirstReadable(IImageDataset dataset, UnreadableImages? tally = null)
    {
        ArgumentNullException.ThrowIfNull(dataset);
        tally ??= new UnreadableImages();
        for (int i = 0; i < dataset.Count; i++)
            if (tally.TryLoad(dataset, i, out var image)) return image;
        throw new InvalidDataException($"No image of '{dataset.Name}' could be decoded ({tally.Count} unreadable; the first: {tally.Messages.FirstOrDefault()}).");
    }
}
