namespace DinoSharp.Data;

/// <summary>An image file could not be decoded (corrupt, truncated, empty, not an image, unreadable or too large).
/// The message always names the file so a user can find and remove it.</summary>
public sealed class ImageDecodeException : Exception
{
    public ImageDecodeException(string file, string reason, Exception? inner = null)
        : base($"Cannot decode image '{file}': {reason}", inner)
    {
        File = file;
    }

    /// <summary>The path (or dataset description) of the image that failed.</summary>
    public string File { get; }
}
