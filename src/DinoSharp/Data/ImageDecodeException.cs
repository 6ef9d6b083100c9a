namespace DinoSharp.Data;

/// <summary>An image file could not be decoded (corrupt, truncated, empty, not an image, unreadable or too large).
/// The message always names the file so a user can find and remove it.</summary>
public sealed class ImageDecodeException : Exception
{
    /// <summary>Creates the exception with the message "Cannot decode image '<paramref name="file"/>': <paramref name="reason"/>".</summary>
    /// <param name="file">The path or dataset description of the image.</param>
    /// <param name="reason">What is wrong, in a few words.</param>
    /// <param name="inner">The decoder's own exception, if any.</param>
    public ImageDecodeException(string file, string reason, Exception? inner = null)
        : base($"Cannot decode image '{file}': {reason}", inner)
    {
        File = file;
    }

    /// <summary>The path (or dataset description) of the image that failed.</summary>
    public string File { get; }
}
