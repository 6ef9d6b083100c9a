namespace DinoSharp.Server;

/// <summary>Reads a request body of at most a given size (413 beyond it, without reading the rest into memory).</summary>
static class Upload
{
    /// <summary>The body's bytes; the upload is the raw file (Content-Type of the image, or application/octet-stream).</summary>
    public static async Task<byte[]> ReadAsync(HttpRequest request, long maxBytes)
    {
        string limit = $"{maxBytes / (1 << 20)} MiB";
        if (request.ContentLength is long declared && declared > maxBytes)
            throw new BadRequestException($"the upload has {declared:N0} bytes; the limit is {maxBytes:N0} ({limit}).", StatusCodes.Status413PayloadTooLarge);
        using var buffer = new MemoryStream();
        var chunk = new byte[81920];
        int read;
        while ((read = await request.Body.ReadAsync(chunk)) > 0)
        {
            if (buffer.Length + read > maxBytes)
                throw new BadRequestException($"the upload is larger than the limit of {maxBytes:N0} bytes ({limit}).", StatusCodes.Status413PayloadTooLarge);
            buffer.Write(chunk, 0, read);
        }
        if (buffer.Length == 0) throw new BadRequestException("the upload is empty: send the image file as the request body.");
        return buffer.ToArray();
    }
}
