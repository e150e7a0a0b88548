using System.Globalization;
using System.Security.Cryptography;

namespace Scalekit.Emulator;

/// <summary>Scalekit-style identifiers: a type prefix and 18 digits (e.g. "org_123456789012345678").</summary>
internal static class Ids
{
    public static string New(string prefix) =>
        prefix + RandomNumberGenerator.GetInt32(100_000_000, 1_000_000_000).ToString(CultureInfo.InvariantCulture)
               + RandomNumberGenerator.GetInt32(0, 1_000_000_000).ToString("D9", CultureInfo.InvariantCulture);
}
