package netguard

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestClassify(t *testing.T) {
	tests := []struct {
		addr    string
		blocked bool
	}{
		// Public unicast.
		{"93.184.215.14", false},
		{"8.8.8.8", false},
		{"1.1.1.1", false},
		{"172.32.0.1", false},  // just past 172.16/12
		{"100.128.0.1", false}, // just past 100.64/10
		{"198.20.0.1", false},  // just past 198.18/15
		{"192.0.1.1", false},   // just past 192.0.0/24
		{"223.255.255.255", false},
		{"2606:4700:4700::1111", false},
		{"2a00:1450:4001::1", false},
		{"::ffff:8.8.8.8", false},   // mapped public
		{"64:ff9b::808:808", false}, // NAT64 of 8.8.8.8
		{"2001:200::1", false},      // just past 2001::/23
		// IPv4 special purpose.
		{"0.0.0.0", true},
		{"0.1.2.3", true},
		{"10.0.0.1", true},
		{"10.255.255.255", true},
		{"100.64.0.1", true},
		{"100.127.255.254", true},
		{"127.0.0.1", true},
		{"127.255.255.254", true},
		{"169.254.169.254", true}, // cloud metadata
		{"169.254.0.1", true},
		{"172.16.0.1", true},
		{"172.31.255.255", true},
		{"192.0.0.8", true},
		{"192.0.0.170", true},
		{"192.0.2.1", true},
		{"192.88.99.1", true},
		{"192.168.1.1", true},
		{"198.18.0.1", true},
		{"198.19.255.255", true},
		{"198.51.100.7", true},
		{"203.0.113.7", true},
		{"224.0.0.1", true},
		{"239.255.255.250", true},
		{"240.0.0.1", true},
		{"255.255.255.255", true},
		// IPv6 special purpose.
		{"::", true},
		{"::1", true},
		{"::127.0.0.1", true}, // IPv4-compatible
		{"::ffff:127.0.0.1", true},
		{"::ffff:10.1.2.3", true},
		{"::ffff:169.254.169.254", true},
		{"::ffff:0.0.0.0", true},
		{"::ffff:0:8.8.8.8", true}, // IPv4-translated
		{"64:ff9b::7f00:1", true},  // NAT64 of 127.0.0.1
		{"64:ff9b::a9fe:a9fe", true},
		{"64:ff9b:1::1", true},
		{"100::1", true},
		{"2001::1", true},     // Teredo
		{"2001:2::1", true},   // benchmarking
		{"2001:db8::1", true}, // documentation
		{"2002:7f00:1::1", true},
		{"3fff::1", true},
		{"fc00::1", true},
		{"fd12:3456:789a::1", true},
		{"fe80::1", true},
		{"fe80::1%eth0", true},
		{"febf::1", true},
		{"fec0::1", true},
		{"ff02::1", true},
		{"ff0e::1", true},
		{"4000::1", true}, // outside 2000::/3
		{"fd00:ec2::254", true},
	}
	for _, tt := range tests {
		t.Run(tt.addr, func(t *testing.T) {
			why := classify(netip.MustParseAddr(tt.addr))
			if got := why != ""; got != tt.blocked {
				t.Errorf("classify(%s) = %q; blocked = %v, want %v", tt.addr, why, got, tt.blocked)
			}
		})
	}
	if why := classify(netip.Addr{}); why == "" {
		t.Error("classify(invalid) allowed the zero Addr")
	}
}

func TestGuardCheck(t *testing.T) {
	tests := []struct {
		name     string
		insecure bool
		network  string
		address  string
		want     error
	}{
		{"public https", false, "tcp4", "93.184.215.14:443", nil},
		{"public http", false, "tcp4", "93.184.215.14:80", nil},
		{"public v6", false, "tcp6", "[2606:4700:4700::1111]:443", nil},
		{"public other port", false, "tcp4", "93.184.215.14:8443", ErrBlockedAddress},
		{"public port 22", false, "tcp4", "93.184.215.14:22", ErrBlockedAddress},
		{"metadata", false, "tcp4", "169.254.169.254:80", ErrBlockedAddress},
		{"metadata v6 mapped", false, "tcp6", "[::ffff:169.254.169.254]:80", ErrBlockedAddress},
		{"loopback 443", false, "tcp4", "127.0.0.1:443", ErrBlockedAddress},
		{"link-local zone", false, "tcp6", "[fe80::1%eth0]:443", ErrBlockedAddress},
		{"udp", false, "udp4", "93.184.215.14:443", ErrBlockedAddress},
		{"unix", false, "unix", "/run/docker.sock", ErrBlockedAddress},
		{"insecure loopback any port", true, "tcp4", "127.0.0.1:8080", nil},
		{"insecure metadata", true, "tcp4", "169.254.169.254:80", nil},
		{"insecure still tcp only", true, "udp4", "127.0.0.1:53", ErrBlockedAddress},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := &guard{insecure: tt.insecure}
			err := g.control(context.Background(), tt.network, tt.address, nil)
			if !errors.Is(err, tt.want) || (tt.want == nil) != (err == nil) {
				t.Errorf("control(%s, %s) = %v, want %v", tt.network, tt.address, err, tt.want)
			}
		})
	}
}

// server is a loopback test server that counts the requests it gets.
type server struct {
	*httptest.Server
	hits atomic.Int32
}

func newServer(t *testing.T, h http.HandlerFunc) *server {
	t.Helper()
	s := &server{}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.hits.Add(1)
		h(w, r)
	}))
	t.Cleanup(s.Close)
	return s
}

func (s *server) addrPort() netip.AddrPort {
	return netip.MustParseAddrPort(s.Listener.Addr().String())
}

func (s *server) port() string { return strconv.Itoa(int(s.addrPort().Port())) }

func hello(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, "hello") }

// get fetches u and returns the body or the first error.
func get(c *http.Client, u string) (string, error) {
	resp, err := c.Get(u)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return string(b), err
}

// wantBlocked checks that err is a refusal by the dialer and that the
// server never saw a request.
func wantBlocked(t *testing.T, err error, s *server) {
	t.Helper()
	if !errors.Is(err, ErrBlockedAddress) {
		t.Fatalf("err = %v, want ErrBlockedAddress", err)
	}
	var op *net.OpError
	if !errors.As(err, &op) || op.Op != "dial" {
		t.Errorf("err = %v, want it from the dial", err)
	}
	if s != nil {
		if n := s.hits.Load(); n != 0 {
			t.Errorf("server got %d requests, want 0", n)
		}
	}
}

func TestLoopbackRefusedByDefault(t *testing.T) {
	s := newServer(t, hello)
	_, err := get(New(Config{}), s.URL)
	wantBlocked(t, err, s)
	if !strings.Contains(err.Error(), "loopback") {
		t.Errorf("err = %v, want it to name loopback", err)
	}
}

func TestLoopbackAllowedWithInsecureSwitch(t *testing.T) {
	s := newServer(t, hello)
	body, err := get(New(Config{InsecureAllowPrivateNetworks: true}), s.URL)
	if err != nil {
		t.Fatal(err)
	}
	if body != "hello" {
		t.Errorf("body = %q, want hello", body)
	}
}

// TestHostnameCheckedAtDial: the check is on the resolved address, not
// the URL, so a name that resolves to loopback is refused all the same.
func TestHostnameCheckedAtDial(t *testing.T) {
	s := newServer(t, hello)
	_, err := get(New(Config{}), "http://localhost:"+s.port()+"/")
	wantBlocked(t, err, s)
}

func TestIPv6Loopback(t *testing.T) {
	ln, err := net.Listen("tcp6", "[::1]:0")
	if err != nil {
		t.Skipf("no IPv6 loopback: %v", err)
	}
	s := &server{}
	s.Server = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.hits.Add(1)
		hello(w, r)
	}))
	s.Listener.Close()
	s.Listener = ln
	s.Start()
	t.Cleanup(s.Close)

	_, err = get(New(Config{}), s.URL)
	wantBlocked(t, err, s)
	if _, err := get(New(Config{InsecureAllowPrivateNetworks: true}), s.URL); err != nil {
		t.Errorf("with the switch: %v", err)
	}
}

func TestIPv4MappedLoopback(t *testing.T) {
	s := newServer(t, hello)
	u := "http://[::ffff:127.0.0.1]:" + s.port() + "/"
	_, err := get(New(Config{}), u)
	wantBlocked(t, err, s)
	// The same URL reaches the server when allowed: the refusal above was
	// the guard, not an unreachable address.
	if _, err := get(New(Config{InsecureAllowPrivateNetworks: true}), u); err != nil {
		t.Errorf("with the switch: %v", err)
	}
}

// TestMetadataAddress goes through the real client: the dialer's Control
// hook runs after the socket is made and before connect, so the refusal
// sends nothing anywhere.
func TestMetadataAddress(t *testing.T) {
	c := New(Config{Timeout: 2 * time.Second})
	for _, u := range []string{
		"http://169.254.169.254/latest/meta-data/",
		"http://[::ffff:169.254.169.254]/latest/meta-data/",
		"http://[fd00:ec2::254]/latest/meta-data/",
		"https://10.0.0.1/",
		"http://0.0.0.0/",
	} {
		t.Run(u, func(t *testing.T) {
			_, err := get(c, u)
			if strings.Contains(u, "fd00") && err != nil && !errors.Is(err, ErrBlockedAddress) {
				// A host without IPv6 fails to make the socket, before the
				// hook runs; that sends nothing either.
				t.Skipf("no IPv6 socket: %v", err)
			}
			if !errors.Is(err, ErrBlockedAddress) {
				t.Fatalf("err = %v, want ErrBlockedAddress", err)
			}
		})
	}
}

func TestBodyCap(t *testing.T) {
	const limit = 1000
	tests := []struct {
		name    string
		size    int
		chunked bool
		wantErr bool
	}{
		{"declared at cap", limit, false, false},
		{"declared over cap", limit + 1, false, true},
		{"chunked at cap", limit, true, false},
		{"chunked over cap", limit + 1, true, true},
		{"chunked far over cap", 10 * limit, true, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newServer(t, func(w http.ResponseWriter, r *http.Request) {
				body := bytes.Repeat([]byte("x"), tt.size)
				if tt.chunked {
					// Flushing first sends the headers without a length.
					w.WriteHeader(http.StatusOK)
					w.(http.Flusher).Flush()
				} else {
					w.Header().Set("Content-Length", strconv.Itoa(len(body)))
				}
				w.Write(body)
			})
			c := New(Config{InsecureAllowPrivateNetworks: true, MaxBodyBytes: limit})
			resp, err := c.Get(s.URL)
			if err == nil {
				if tt.chunked && resp.ContentLength != -1 {
					t.Errorf("ContentLength = %d, want chunked", resp.ContentLength)
				}
				var b []byte
				b, err = io.ReadAll(resp.Body)
				resp.Body.Close()
				if err == nil && len(b) != tt.size {
					t.Errorf("read %d bytes, want %d", len(b), tt.size)
				}
			} else if tt.chunked {
				t.Errorf("chunked body refused before reading: %v", err)
			}
			if got := errors.Is(err, ErrBodyTooLarge); got != tt.wantErr {
				t.Errorf("err = %v; ErrBodyTooLarge = %v, want %v", err, got, tt.wantErr)
			}
		})
	}
}

func TestDefaultBodyCap(t *testing.T) {
	s := newServer(t, func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusOK)
		w.(http.Flusher).Flush()
		w.Write(bytes.Repeat([]byte("x"), DefaultMaxBodyBytes+1))
	})
	_, err := get(New(Config{InsecureAllowPrivateNetworks: true}), s.URL)
	if !errors.Is(err, ErrBodyTooLarge) {
		t.Errorf("err = %v, want ErrBodyTooLarge at the 1 MiB default", err)
	}
}

func TestTimeout(t *testing.T) {
	tests := []struct {
		name string
		h    http.HandlerFunc
	}{
		{"no headers", func(w http.ResponseWriter, r *http.Request) {
			<-r.Context().Done()
		}},
		{"stalled body", func(w http.ResponseWriter, r *http.Request) {
			io.WriteString(w, "partial")
			w.(http.Flusher).Flush()
			<-r.Context().Done()
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newServer(t, tt.h)
			c := New(Config{InsecureAllowPrivateNetworks: true, Timeout: 200 * time.Millisecond})
			_, err := get(c, s.URL)
			var ne net.Error
			if !errors.As(err, &ne) || !ne.Timeout() {
				t.Errorf("err = %v, want a timeout", err)
			}
		})
	}
}

func redirectTo(target string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, target, http.StatusFound)
	}
}

func TestRedirectToBlockedAddress(t *testing.T) {
	inner := newServer(t, hello)
	for _, target := range []string{
		inner.URL + "/admin",
		"http://localhost:" + inner.port() + "/admin",
		"http://169.254.169.254/latest/meta-data/",
	} {
		t.Run(target, func(t *testing.T) {
			outer := newServer(t, redirectTo(target))
			// Only the outer server is reachable, as if it were public.
			c := newClient(Config{}, func(ap netip.AddrPort) bool { return ap == outer.addrPort() })
			_, err := get(c, outer.URL)
			wantBlocked(t, err, inner)
			if n := outer.hits.Load(); n != 1 {
				t.Errorf("outer server got %d requests, want 1", n)
			}
		})
	}
}

func TestRedirectLimit(t *testing.T) {
	// /n redirects to /n-1; /0 answers.
	var s *server
	s = newServer(t, func(w http.ResponseWriter, r *http.Request) {
		n, _ := strconv.Atoi(strings.TrimPrefix(r.URL.Path, "/"))
		if n == 0 {
			hello(w, r)
			return
		}
		http.Redirect(w, r, fmt.Sprintf("/%d", n-1), http.StatusFound)
	})
	c := New(Config{InsecureAllowPrivateNetworks: true})
	if _, err := get(c, s.URL+"/5"); err != nil {
		t.Errorf("5 redirects: %v", err)
	}
	if _, err := get(c, s.URL+"/6"); !errors.Is(err, ErrRedirect) {
		t.Errorf("6 redirects: err = %v, want ErrRedirect", err)
	}
}

func TestRedirectDowngrade(t *testing.T) {
	plain := newServer(t, hello)
	tlsSrv := httptest.NewTLSServer(redirectTo(plain.URL))
	t.Cleanup(tlsSrv.Close)
	tlsUpgrade := httptest.NewTLSServer(http.HandlerFunc(hello))
	t.Cleanup(tlsUpgrade.Close)
	upgrade := newServer(t, redirectTo(tlsUpgrade.URL))

	c := New(Config{InsecureAllowPrivateNetworks: true, RootCAs: tlsSrv.Client().Transport.(*http.Transport).TLSClientConfig.RootCAs})
	_, err := get(c, tlsSrv.URL)
	if !errors.Is(err, ErrRedirect) {
		t.Errorf("https to http: err = %v, want ErrRedirect", err)
	}
	if n := plain.hits.Load(); n != 0 {
		t.Errorf("http server got %d requests, want 0", n)
	}

	c = New(Config{InsecureAllowPrivateNetworks: true, RootCAs: tlsUpgrade.Client().Transport.(*http.Transport).TLSClientConfig.RootCAs})
	if _, err := get(c, upgrade.URL); err != nil {
		t.Errorf("http to https: %v", err)
	}
}

// TestNoProxy: a proxy would make the connection on our behalf, out of the
// dialer's sight. (Go already bypasses proxies for loopback, and reads the
// environment once per process, so a live test could not tell.)
func TestNoProxy(t *testing.T) {
	tr := New(Config{}).Transport.(*capTransport).base.(*http.Transport)
	if tr.Proxy != nil {
		t.Error("transport has a Proxy function, want none")
	}
}

func TestUserAgent(t *testing.T) {
	var got []string
	s := newServer(t, func(w http.ResponseWriter, r *http.Request) {
		got = append(got, r.UserAgent())
	})
	c := New(Config{InsecureAllowPrivateNetworks: true, UserAgent: "Sallyport/1.2.3"})
	if _, err := get(c, s.URL); err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest(http.MethodGet, s.URL, nil)
	req.Header.Set("User-Agent", "caller/1")
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if _, err := get(New(Config{InsecureAllowPrivateNetworks: true}), s.URL); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"Sallyport/1.2.3", "caller/1", DefaultUserAgent}, got); diff != "" {
		t.Errorf("User-Agent (-want +got):\n%s", diff)
	}
}

func TestInsecureSwitchWarnsOnce(t *testing.T) {
	for _, insecure := range []bool{false, true} {
		var buf bytes.Buffer
		log := slog.New(slog.NewTextHandler(&buf, nil))
		c := New(Config{InsecureAllowPrivateNetworks: insecure, Logger: log})
		s := newServer(t, hello)
		get(c, s.URL)
		get(c, s.URL)
		want := 0
		if insecure {
			want = 1
		}
		if n := strings.Count(buf.String(), "level=WARN"); n != want {
			t.Errorf("insecure=%v: %d warnings, want %d:\n%s", insecure, n, want, &buf)
		}
	}
}

// TestErrorsReachCaller checks the wrapping a caller sees from Get.
func TestErrorsReachCaller(t *testing.T) {
	s := newServer(t, hello)
	_, err := New(Config{}).Get(s.URL)
	var ue *url.Error
	if !errors.As(err, &ue) {
		t.Fatalf("err = %T %v, want *url.Error", err, err)
	}
	if !strings.HasPrefix(ErrBlockedAddress.Error(), "netguard: ") || !strings.HasPrefix(ErrBodyTooLarge.Error(), "netguard: ") {
		t.Error("sentinels are not prefixed with the package name")
	}
}

// TestConcurrentRequestsReuseConnections: a burst of concurrent requests to
// one host (callbacks redeeming codes at one provider) leaves its
// connections in the pool, and the next burst reuses every one of them
// instead of dialling again.
func TestConcurrentRequestsReuseConnections(t *testing.T) {
	const burst = 16
	var arrived, dialled atomic.Int32
	s := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// Hold every request of a burst until the whole burst has
		// arrived, so the burst needs burst connections at once.
		n := arrived.Add(1)
		target := (n + burst - 1) / burst * burst
		for arrived.Load() < target {
			time.Sleep(time.Millisecond)
		}
		io.WriteString(w, "hello")
	}))
	s.Config.ConnState = func(_ net.Conn, state http.ConnState) {
		if state == http.StateNew {
			dialled.Add(1)
		}
	}
	s.Start()
	t.Cleanup(s.Close)
	c := New(Config{InsecureAllowPrivateNetworks: true})
	for round := range 2 {
		errs := make(chan error, burst)
		for range burst {
			go func() {
				_, err := get(c, s.URL)
				errs <- err
			}()
		}
		for range burst {
			if err := <-errs; err != nil {
				t.Fatalf("round %d: %v", round, err)
			}
		}
	}
	if n := dialled.Load(); n != burst {
		t.Errorf("two bursts of %d concurrent requests opened %d connections, want %d (the second burst reuses the first's)", burst, n, burst)
	}
}
