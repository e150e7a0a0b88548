using System.Net;
using Microsoft.Extensions.Options;

namespace Api.Scalekit;

/// <summary>Whether the API speaks HTTP/2 to Scalekit (<c>Scalekit:Http2</c>).</summary>
public enum ScalekitHttp2
{
    /// <summary>
    /// HTTP/2 when the server agrees to it during the TLS handshake (ALPN), else HTTP/1.1; plain <c>http://</c> is always
    /// HTTP/1.1. What .NET's own reverse proxy (YARP) does by default.
    /// </summary>
    Negotiate,

    /// <summary>
    /// HTTP/2 only: over plain <c>http://</c> with prior knowledge (h2c), over <c>https://</c> only if the handshake
    /// agrees to it. Every call fails against a server that does not speak HTTP/2 that way.
    /// </summary>
    Always,

    /// <summary>HTTP/1.1 only.</summary>
    Off,
}

/// <summary>
/// Puts <c>Scalekit:Http2</c> on every request to Scalekit. Refit, the token request and the JWKS fetch each create
/// their own request message, as HTTP/1.1 whatever the client's <c>DefaultRequestVersion</c>, so it is set here, on
/// each client's way out. Over HTTP/2 one connection carries many calls at once: under load the proxy hop costs far
/// fewer socket reads and writes than one HTTP/1.1 connection per call in flight (see the README's performance section).
/// </summary>
public sealed class ScalekitHttp2Handler(IOptions<ScalekitOptions> options) : DelegatingHandler
{
    private readonly (Version Version, HttpVersionPolicy Policy) _version = VersionFor(options.Value.Http2);

    public static (Version Version, HttpVersionPolicy Policy) VersionFor(ScalekitHttp2 http2) => http2 switch
    {
        ScalekitHttp2.Always => (HttpVersion.Version20, HttpVersionPolicy.RequestVersionExact),
        ScalekitHttp2.Off => (HttpVersion.Version11, HttpVersionPolicy.RequestVersionExact),
        _ => (HttpVersion.Version20, HttpVersionPolicy.RequestVersionOrLower),
    };

    protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        (request.Version, request.VersionPolicy) = _version;
        return base.SendAsync(request, cancellationToken);
    }

    protected override HttpResponseMessage Send(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        (request.Version, request.VersionPolicy) = _version;
        return base.Send(request, cancellationToken);
    }
}
