using System.Net;
using System.Net.Sockets;
using System.Text;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.Extensions.DependencyInjection;

namespace Api.Tests;

/// <summary>
/// The in-process API over a real loopback socket, for what only a server sees: a caller hanging up, the chunked
/// framing, a request target no client library would send.
/// </summary>
internal static class Loopback
{
    /// <summary>Serves <paramref name="factory"/> on a port the OS picks and answers its address.</summary>
    public static Uri StartOnLoopback(this WebApplicationFactory<Program> factory)
    {
        factory.UseKestrel(kestrel => kestrel.Listen(IPAddress.Loopback, 0));
        factory.StartServer();
        return new Uri(factory.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.Single());
    }

    /// <summary>
    /// A loopback port no listener holds now. It is released at once, so another process (a busy CI machine runs several
    /// test runs) may take it before the caller binds it: start servers through <see cref="OnFreePort{T}"/>.
    /// </summary>
    public static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    /// <summary>
    /// Starts a server with <paramref name="start"/> on a port from <paramref name="pick"/> (default <see cref="FreePort"/>),
    /// and again on a fresh one when that fails, as it does when the port was taken between being picked and bound.
    /// </summary>
    public static async Task<T> OnFreePort<T>(Func<int, Task<T>> start, Func<int>? pick = null)
    {
        const int Attempts = 5;
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                return await start((pick ?? FreePort)());
            }
            catch (Exception) when (attempt < Attempts)
            {
                // Taken meanwhile, most likely: another port. A start that fails for another reason fails every time.
            }
        }
    }

    /// <summary>Writes <paramref name="request"/> to <paramref name="server"/> byte for byte (it should say <c>Connection: close</c>) and answers all it wrote back.</summary>
    public static async Task<string> SendRawAsync(Uri server, string request)
    {
        using var tcp = new TcpClient();
        await tcp.ConnectAsync(IPAddress.Loopback, server.Port);
        var stream = tcp.GetStream();
        await stream.WriteAsync(Encoding.ASCII.GetBytes(request));
        return await new StreamReader(stream, Encoding.UTF8).ReadToEndAsync();
    }
}
