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
