package clientip

import "net/http"

// FromTrustedProxy reports whether req arrived directly from a trusted
// proxy, so that other headers that proxy sets (a request id, say) may be
// believed.
func (r *Resolver) FromTrustedProxy(req *http.Request) bool {
	return r.trusts(remoteAddr(req.RemoteAddr))
}
