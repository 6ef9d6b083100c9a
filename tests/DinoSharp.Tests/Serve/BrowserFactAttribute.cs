namespace DinoSharp.Tests.Serve;

/// <summary>A fact that drives Debian's Chromium: skipped, saying why and how to install it, when the browser is absent (never passed).</summary>
public sealed class BrowserFactAttribute : FactAttribute
{
    /// <summary>The browser the tests drive: $DINOSHARP_CHROMIUM, else Debian's /usr/bin/chromium.</summary>
    public static string Chromium => Environment.GetEnvironmentVariable("DINOSHARP_CHROMIUM") ?? "/usr/bin/chromium";

    public BrowserFactAttribute()
    {
        if (!File.Exists(Chromium))
            Skip = $"{Chromium} is missing: install Debian's chromium (apt-get install -y chromium, or run scripts/ensure-deps.sh as root) or set DINOSHARP_CHROMIUM.";
    }
}
