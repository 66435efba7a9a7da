package outcome

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
)

// The statuses DESIGN.md §9 fixes for refusal pages.
func TestStatusesFromDesign(t *testing.T) {
	want := map[Code]int{
		InvalidState: 400, IdentityInvalid: 400, InvalidRequest: 400,
		NotAllowed: 403, ProviderNotAssigned: 403, AccountDisabled: 403, SSORequired: 403, EmailUnverified: 403,
		LinkConfirmationRequired: 409, AmbiguousEmailMatch: 409, ProviderSubjectConflict: 409, LastSignInMethod: 409,
		RateLimited:        429,
		CodeExchangeFailed: 502, UpstreamError: 502,
	}
	for code, status := range want {
		if got := code.Status(); got != status {
			t.Errorf("%s.Status() = %d, want %d", code, got, status)
		}
	}
}

// Only our own failures may answer 500; nothing in the vocabulary that an
// outsider can cause does.
func TestOnlyOwnFailuresAre500(t *testing.T) {
	for _, c := range Codes() {
		if c.Status() >= 500 && c.Status() != http.StatusBadGateway && c.Status() != http.StatusServiceUnavailable {
			if c != Internal && c != SessionFailed {
				t.Errorf("%s answers %d", c, c.Status())
			}
		}
	}
}

func TestEverySentenceIsActionable(t *testing.T) {
	for _, c := range Codes() {
		s := c.Sentence()
		if s == "" || !strings.HasSuffix(s, ".") || strings.Contains(s, "_") {
			t.Errorf("%s: sentence %q must be a plain sentence without a code name in it", c, s)
		}
	}
}

func TestFromFindsWrappedOutcome(t *testing.T) {
	cause := errors.New("dial tcp: refused")
	err := fmt.Errorf("callback: %w", Wrap(CodeExchangeFailed, cause))
	oe := From(err)
	if oe.Code != CodeExchangeFailed || !errors.Is(err, cause) {
		t.Fatalf("From(%v) = %v", err, oe)
	}
	if strings.Contains(oe.Sentence(), "refused") {
		t.Errorf("the person's sentence leaks the cause: %q", oe.Sentence())
	}
	if got := From(cause); got.Code != Internal || got.Err != cause {
		t.Errorf("From(plain error) = %+v, want Internal wrapping it", got)
	}
	if CodeOf(nil) != "" {
		t.Error("CodeOf(nil) must be empty")
	}
	if New(NotAllowed, "Use your work account.").Sentence() != "Use your work account." {
		t.Error("New must keep the message")
	}
}
