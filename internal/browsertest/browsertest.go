// Package browsertest drives a real headless Chromium for Sallyport's
// browser tests, for what an HTTP client cannot show: that the browser
// keeps our cookies, follows the pages' links and forms, runs their
// scripts, and applies each page's Content-Security-Policy.
//
// It is used only by tests. It is an ordinary package rather than a
// _test.go file so that the root package's tests and the demo's share one
// driver; nothing outside a test imports it.
package browsertest

import (
	"context"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
)

// ChromiumPath is Debian's Chromium, the browser .ci/run installs.
const ChromiumPath = "/usr/bin/chromium"

const (
	// testTimeout bounds each browser test, Chromium's start included.
	testTimeout = 60 * time.Second
	// stepTimeout bounds one wait for a page, so that a failure still
	// leaves time to report where the browser ended.
	stepTimeout = 20 * time.Second
)

// Browser is one headless Chromium, driven for one test. Its methods fail
// the test on an error, saying where the browser is.
type Browser struct {
	t   *testing.T
	ctx context.Context
}

// Start starts headless Chromium with a fresh profile, for the rest of the
// test or a minute, whichever ends first. Without Chromium the test is
// skipped, except under CI=true, where it fails: CI must run these tests.
func Start(t *testing.T) *Browser {
	t.Helper()
	if _, err := os.Stat(ChromiumPath); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("CI must run the browser tests: %v (.ci/run installs Debian's chromium)", err)
		}
		t.Skipf("no %s (apt-get install chromium); skipping the browser tests", ChromiumPath)
	}
	// Made before the cleanups below, so it is removed after Chromium exits.
	profile := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	t.Cleanup(cancel)
	// Run as root on a closed network: without the background-networking
	// flags Chromium keeps dialling Google's hosts.
	ctx, cancelAlloc := chromedp.NewExecAllocator(ctx,
		chromedp.ExecPath(ChromiumPath),
		chromedp.UserDataDir(profile),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-breakpad", true),
		chromedp.Flag("disable-dev-shm-usage", true),
	)
	t.Cleanup(cancelAlloc) // waits for Chromium to exit
	ctx, cancelBrowser := chromedp.NewContext(ctx, chromedp.WithErrorf(t.Logf))
	t.Cleanup(cancelBrowser)
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("starting Chromium: %v", err)
	}
	return &Browser{t: t, ctx: ctx}
}

// Do runs steps and fails the test, saying what it was doing, on an error.
func (b *Browser) Do(what string, steps ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	if err := chromedp.Do(b.ctx, steps...); err != nil {
		b.t.Fatalf("%s: %v%s", what, err, b.WhereIs())
	}
}

// WaitFor waits until the CSS selector sel is visible: the browser has
// arrived on the page that has it.
func (b *Browser) WaitFor(sel string) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, stepTimeout)
	defer cancel()
	if err := chromedp.Do(ctx, chromedp.WaitVisible(chromedp.CSS(sel))); err != nil {
		b.t.Fatalf("waiting for %s: %v%s", sel, err, b.WhereIs())
	}
}

// Text is the visible text of the first element that matches sel, without
// the white space around it (a table cell's text may carry the source's
// line breaks).
func (b *Browser) Text(sel string) string {
	b.t.Helper()
	s, err := chromedp.Run(b.ctx, chromedp.Text(chromedp.CSS(sel)))
	if err != nil {
		b.t.Fatalf("reading %s: %v%s", sel, err, b.WhereIs())
	}
	return strings.TrimSpace(s)
}

// HTML is the page's document as the browser holds it.
func (b *Browser) HTML() string {
	b.t.Helper()
	s, err := chromedp.Run(b.ctx, chromedp.OuterHTML(chromedp.CSS("html")))
	if err != nil {
		b.t.Fatalf("reading the page: %v", err)
	}
	return s
}

// Location is the browser's current URL.
func (b *Browser) Location() string {
	b.t.Helper()
	s, err := chromedp.Run(b.ctx, chromedp.Location())
	if err != nil {
		b.t.Fatalf("reading the location: %v", err)
	}
	return s
}

// URL is the browser's current URL, parsed, for tests that look at its
// path or query.
func (b *Browser) URL() *url.URL {
	b.t.Helper()
	u, err := url.Parse(b.Location())
	if err != nil {
		b.t.Fatal(err)
	}
	return u
}

// Cookies are the browser's cookies for u, by name.
func (b *Browser) Cookies(u string) map[string]*network.Cookie {
	b.t.Helper()
	res, err := chromedp.Run(b.ctx, func(ctx context.Context, tg *chromedp.Target) (network.GetCookiesResult, error) {
		return cdp.Call(ctx, tg, network.GetCookies, network.GetCookiesParams{URLs: []string{u}})
	})
	if err != nil {
		b.t.Fatalf("reading cookies: %v", err)
	}
	m := make(map[string]*network.Cookie)
	for _, ck := range res.Cookies {
		m[ck.Name] = ck
	}
	return m
}

// WhereIs says where the browser is and what it shows, for failure
// messages; it is empty when the browser cannot tell.
func (b *Browser) WhereIs() string {
	ctx, cancel := context.WithTimeout(b.ctx, 5*time.Second)
	defer cancel()
	loc, err := chromedp.Run(ctx, chromedp.Location())
	if err != nil {
		return ""
	}
	body, _ := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("body")))
	if len(body) > 800 {
		body = body[:800] + "…"
	}
	return "\nthe browser is at " + loc + ", showing:\n" + body
}
