package testidp

import (
	"crypto/rand"
	"crypto/sha256"
	"fmt"
	"strings"
)

// Entra tenants.
const (
	// EntraDefaultTenant is the home tenant of Entra users without a
	// TenantID.
	EntraDefaultTenant = "5a1f3c2e-8d4b-4e6f-9a7c-0b1d2e3f4a5b"
	// EntraConsumersTenant is Microsoft's tenant for personal (MSA)
	// accounts, the one the "consumers" authority issues for.
	EntraConsumersTenant = "9188040d-6c67-4c5b-b112-36a304b66dad"
)

// EntraEndpoints returns the Entra persona's URLs for a tenant path
// segment: a GUID, "common", "organizations" or "consumers". For common
// and organizations the Issuer is the template ".../{tenantid}/v2.0".
func (p *IdP) EntraEndpoints(tenant string) Endpoints {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.personas[Entra].entraEndpoints(tenant)
}

// EntraIssuer returns the issuer Entra tokens for a user of tenant tid
// carry.
func (p *IdP) EntraIssuer(tid string) string {
	return entraTokenIssuer(p.EntraAuthority(), tid)
}

// entraEndpoints is the caller-holds-the-lock half of EntraEndpoints.
func (per *persona) entraEndpoints(tenant string) Endpoints {
	iss := entraIssuer(per.base, tenant)
	if iss == "" {
		return Endpoints{}
	}
	t := per.base + "/" + tenant
	return Endpoints{
		Issuer:    iss,
		Discovery: t + "/v2.0/.well-known/openid-configuration",
		JWKS:      t + "/discovery/v2.0/keys",
		Authorize: t + "/oauth2/v2.0/authorize",
		Token:     t + "/oauth2/v2.0/token",
		UserInfo:  per.base + "/graph/oidc/userinfo",
	}
}

// entraIssuer is the discovery issuer of a tenant path segment, or "" for
// one Entra would not know.
func entraIssuer(authority, tenant string) string {
	switch {
	case tenant == "common" || tenant == "organizations":
		return authority + "/{tenantid}/v2.0"
	case tenant == "consumers":
		return entraTokenIssuer(authority, EntraConsumersTenant)
	case isGUID(tenant):
		return entraTokenIssuer(authority, strings.ToLower(tenant))
	}
	return ""
}

func entraTokenIssuer(authority, tid string) string { return authority + "/" + tid + "/v2.0" }

// entraEligible reports whether a user of home tenant tid can sign in
// through the tenant path segment.
func entraEligible(tenant, tid string) bool {
	switch tenant {
	case "common":
		return true
	case "organizations":
		return tid != EntraConsumersTenant
	case "consumers":
		return tid == EntraConsumersTenant
	}
	return strings.EqualFold(tenant, tid)
}

func entraTID(u *User) string {
	if u.TenantID != "" {
		return strings.ToLower(u.TenantID)
	}
	if t, ok := u.Claims["tid"].(string); ok && t != "" {
		return t
	}
	return EntraDefaultTenant
}

// entraOID is the user's object id: Claims["oid"], the Subject if it is a
// GUID, or a GUID derived from the Subject.
func entraOID(u *User) string {
	if o, ok := u.Claims["oid"].(string); ok && o != "" {
		return o
	}
	if isGUID(u.Subject) {
		return strings.ToLower(u.Subject)
	}
	return guidFrom(sha256.Sum256([]byte("oid " + u.Subject)))
}

// entraPairwiseSub is the app-specific subject: the same person has
// another sub in another app and in another tenant.
func entraPairwiseSub(tid, oid, clientID string) string {
	sum := sha256.Sum256([]byte(tid + " " + oid + " " + clientID))
	return b64(sum[:])
}

func newGUID() string {
	var b [32]byte
	rand.Read(b[:])
	return guidFrom(b)
}

func guidFrom(b [32]byte) string {
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}
