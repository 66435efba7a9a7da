package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"reflect"
	"slices"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// maxSecretFile caps what a *_file setting may read: a secret or a PEM key
// is a few kilobytes, and a typo such as /dev/zero must not hang the start.
const maxSecretFile = 1 << 20

// maxDecodeSteps bounds the values the decoder visits, so aliases that
// refer to each other many times over cannot make loading explode. A file
// with thousands of connections and clients stays well below it.
const maxDecodeSteps = 1 << 18

// Load reads the configuration file at path: the file's settings over
// [Default], ${ENV_VAR} references expanded, *_file settings read, defaults
// applied, then validated. lookupEnv resolves the references; nil means
// [os.LookupEnv].
//
// The error is a wrapped [fs.PathError] when the file cannot be read, and
// [Problems] listing everything wrong with it otherwise.
func Load(path string, lookupEnv func(string) (string, bool)) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	return LoadBytes(data, path, lookupEnv)
}

// LoadBytes is [Load] for a file already in memory; source names it in
// problems about the file as a whole (a YAML syntax error). Relative paths
// in *_file settings are relative to the working directory, like the
// database path.
//
// References are written ${NAME} and may appear in any value, but never in
// a key; $$ is a literal $, and a $ followed by anything else is kept as is
// (so a regular expression may end with $). Expansion happens inside the
// parsed values, never on the text before parsing, so an environment
// variable can never add YAML structure: a value containing "\nadmin: true"
// stays one string.
func LoadBytes(data []byte, source string, lookupEnv func(string) (string, bool)) (*Config, error) {
	if lookupEnv == nil {
		lookupEnv = os.LookupEnv
	}
	root, err := parse(data)
	if err != nil {
		msg := err.Error()
		if bytes.Contains(data, []byte("${")) {
			// The likely cause: in { } and [ ], YAML reads the braces of
			// a reference as structure.
			msg += " (inside { } or [ ], put ${...} references in quotes)"
		}
		if source != "" {
			msg = source + ": " + msg
		}
		return nil, Problems{{Message: msg}}
	}
	cfg := Default()
	d := &decoder{
		lookupEnv: lookupEnv,
		lines:     map[string]int{},
		present:   map[string]bool{},
		tainted:   map[string]bool{},
		fromFile:  map[string]string{},
	}
	if root != nil {
		if root.Kind != yaml.MappingNode {
			return nil, Problems{{Message: "the file must be a mapping of settings, such as issuer: https://sso.example.com"}}
		}
		d.decode(root, reflect.ValueOf(cfg).Elem(), "")
	}
	d.deriveIssuer(cfg)
	d.readSecretFiles(cfg)
	cfg.ApplyDefaults()

	ps := d.problems
	for _, p := range cfg.Validate() {
		if d.isTainted(p.Field) {
			continue // the decoder already said what is wrong here
		}
		if file, ok := d.fromFile[p.Field]; ok {
			p.Field = file // point at the setting the operator wrote
		}
		ps = append(ps, p)
	}
	if len(ps) == 0 {
		return cfg, nil
	}
	slices.SortStableFunc(ps, func(a, b Problem) int { return d.lineOf(a.Field) - d.lineOf(b.Field) })
	return nil, ps
}

// parse returns the single document's root node, nil for an empty file.
func parse(data []byte) (*yaml.Node, error) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, nil
		}
		return nil, errors.New(strings.TrimPrefix(err.Error(), "yaml: "))
	}
	var next yaml.Node
	switch err := dec.Decode(&next); {
	case errors.Is(err, io.EOF):
	case err != nil:
		return nil, errors.New(strings.TrimPrefix(err.Error(), "yaml: "))
	default:
		return nil, fmt.Errorf("line %d: the file must hold one YAML document, not several", next.Line)
	}
	if len(doc.Content) == 0 || isNull(doc.Content[0]) {
		return nil, nil
	}
	return doc.Content[0], nil
}

// decoder copies a YAML node tree into a Config by reflection over the yaml
// tags. It is stricter than yaml.v3's own decoding: every unknown key,
// wrong type and missing environment variable becomes a Problem with its
// exact key path, and decoding carries on so one run reports them all.
type decoder struct {
	lookupEnv func(string) (string, bool)
	problems  Problems
	steps     int
	exploded  bool
	lines     map[string]int    // key path → line it was written on, to sort problems
	present   map[string]bool   // key paths the file sets
	tainted   map[string]bool   // key paths whose decode problem makes a validation problem redundant
	fromFile  map[string]string // value path → *_file path it was read from
}

// overBudget reports, once, a file whose aliases expand beyond reason.
func (d *decoder) overBudget() {
	if !d.exploded {
		d.exploded = true
		d.problem(nil, "", "the file expands to too many values; check its aliases")
	}
}

// problem records a decoding problem at path. Validation problems at path
// or below it are dropped later: a value that could not be read would
// only draw a second, misleading complaint ("is required").
func (d *decoder) problem(n *yaml.Node, path, msg string) {
	d.note(n, path, msg)
	if path != "" {
		d.tainted[path] = true
	}
}

// note records a problem that leaves validation of path meaningful.
func (d *decoder) note(n *yaml.Node, path, msg string) {
	d.problems.add(path, msg)
	if _, ok := d.lines[path]; !ok && n != nil {
		d.lines[path] = n.Line
	}
}

// isTainted reports whether path, or a setting that contains it, already
// has a problem from decoding.
func (d *decoder) isTainted(path string) bool {
	for {
		if d.tainted[path] {
			return true
		}
		if path == "" {
			return false
		}
		path = parentPath(path)
	}
}

// lineOf is the line of path in the file or, for a setting the file left
// out, of the nearest setting that contains it.
func (d *decoder) lineOf(path string) int {
	for path != "" {
		if l, ok := d.lines[path]; ok {
			return l
		}
		path = parentPath(path)
	}
	return 0
}

// parentPath strips the last key or index: "a[1].b" → "a[1]" → "a".
func parentPath(path string) string {
	i := strings.LastIndexAny(path, ".[")
	if i < 0 {
		return ""
	}
	return path[:i]
}

func joinPath(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

var durationType = reflect.TypeFor[Duration]()

// decode stores n in v and reports whether it could.
func (d *decoder) decode(n *yaml.Node, v reflect.Value, path string) bool {
	if d.steps++; d.steps > maxDecodeSteps {
		d.overBudget()
		return false
	}
	for n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	if isNull(n) {
		return true // an empty value leaves the default
	}
	if v.Type() == durationType {
		s, ok := d.scalar(n, path, "must be a duration such as 12h or 10m")
		if !ok {
			return false
		}
		var dur Duration
		if err := dur.UnmarshalText([]byte(s)); err != nil {
			d.problem(n, path, "must be a duration such as 12h or 10m")
			return false
		}
		v.Set(reflect.ValueOf(dur))
		return true
	}
	switch v.Kind() {
	case reflect.Pointer:
		elem := reflect.New(v.Type().Elem())
		if !d.decode(n, elem.Elem(), path) {
			return false
		}
		v.Set(elem)
		return true
	case reflect.Struct:
		return d.decodeStruct(n, v, path)
	case reflect.Slice:
		if n.Kind != yaml.SequenceNode {
			d.problem(n, path, "must be a list")
			return false
		}
		s := reflect.MakeSlice(v.Type(), len(n.Content), len(n.Content))
		ok := true
		for i, item := range n.Content {
			ip := fmt.Sprintf("%s[%d]", path, i)
			d.lines[ip] = item.Line
			ok = d.decode(item, s.Index(i), ip) && ok
		}
		v.Set(s)
		return ok
	case reflect.Map:
		return d.decodeMap(n, v, path)
	case reflect.String:
		s, ok := d.scalar(n, path, "must be a single value, not a list or a mapping")
		if ok {
			v.SetString(s)
		}
		return ok
	case reflect.Bool:
		s, ok := d.scalar(n, path, "must be true or false")
		if !ok {
			return false
		}
		switch strings.ToLower(s) {
		case "true":
			v.SetBool(true)
		case "false":
			v.SetBool(false)
		default:
			// yes/no/on/off are YAML 1.1 booleans that other readers
			// take for strings; refuse rather than guess.
			d.problem(n, path, "must be true or false")
			return false
		}
		return true
	case reflect.Int:
		s, ok := d.scalar(n, path, "must be a whole number")
		if !ok {
			return false
		}
		i, err := strconv.Atoi(s)
		if err != nil {
			d.problem(n, path, "must be a whole number")
			return false
		}
		v.SetInt(int64(i))
		return true
	}
	panic("config: no decoding for " + v.Type().String()) // a new field type needs a case above
}

func isNull(n *yaml.Node) bool {
	return n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null"
}

// scalar returns n's value with environment references expanded; wrongType
// is the problem when n is a list or mapping.
func (d *decoder) scalar(n *yaml.Node, path, wrongType string) (string, bool) {
	if n.Kind != yaml.ScalarNode {
		d.problem(n, path, wrongType)
		return "", false
	}
	return d.expand(n, path)
}

// expand replaces ${NAME} references in one scalar value.
func (d *decoder) expand(n *yaml.Node, path string) (string, bool) {
	s := n.Value
	if !strings.Contains(s, "$") {
		return s, true
	}
	var b strings.Builder
	ok := true
	for i := 0; i < len(s); i++ {
		if s[i] != '$' || i+1 == len(s) {
			b.WriteByte(s[i])
			continue
		}
		switch s[i+1] {
		case '$':
			b.WriteByte('$')
			i++
		case '{':
			end := strings.IndexByte(s[i+2:], '}')
			if end < 0 {
				// The value is not echoed: it may be a secret.
				d.problem(n, path, "has a ${ without its closing }; write $$ for a literal $")
				return "", false
			}
			name := s[i+2 : i+2+end]
			i += 2 + end
			if !validEnvName(name) {
				d.problem(n, path, "has a ${...} that is not an environment variable name (letters, digits and _); write $$ for a literal $")
				ok = false
				continue
			}
			val, set := d.lookupEnv(name)
			if !set {
				d.problem(n, path, "environment variable "+name+" is not set")
				ok = false
				continue
			}
			b.WriteString(val)
		default:
			b.WriteByte('$')
		}
	}
	return b.String(), ok
}

func validEnvName(s string) bool {
	if s == "" || (s[0] >= '0' && s[0] <= '9') {
		return false
	}
	for _, c := range []byte(s) {
		if !(c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9') {
			return false
		}
	}
	return true
}

// pair is one key and value of a mapping; merged pairs come from a YAML
// merge key (<<: *anchor) and may be overridden by the mapping's own keys.
type pair struct {
	key, value *yaml.Node
	merged     bool
}

// pairs lists a mapping's entries with merge keys expanded, merged entries
// first so the mapping's own keys win.
func (d *decoder) pairs(n *yaml.Node, path string) []pair {
	var merged, own []pair
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if k.Kind != yaml.ScalarNode || k.ShortTag() != "!!merge" {
			own = append(own, pair{key: k, value: v})
			continue
		}
		for v.Kind == yaml.AliasNode {
			v = v.Alias
		}
		sources := []*yaml.Node{v}
		if v.Kind == yaml.SequenceNode {
			// In <<: [*a, *b], *a wins over *b: apply b first.
			sources = slices.Clone(v.Content)
			slices.Reverse(sources)
		}
		for _, src := range sources {
			for src.Kind == yaml.AliasNode {
				src = src.Alias
			}
			if src.Kind != yaml.MappingNode {
				d.note(k, path, "<< must merge a mapping")
				continue
			}
			ps := d.pairs(src, path)
			// Merges of merges can double at every level; count them
			// like decoded values.
			if d.steps += len(ps); d.steps > maxDecodeSteps {
				d.overBudget()
				return nil
			}
			for _, p := range ps {
				p.merged = true
				merged = append(merged, p)
			}
		}
	}
	return append(merged, own...)
}

func (d *decoder) decodeStruct(n *yaml.Node, v reflect.Value, path string) bool {
	if n.Kind != yaml.MappingNode {
		d.problem(n, path, "must be a mapping of settings")
		return false
	}
	names, index := structFields(v.Type())
	seen := map[string]int{}
	ok := true
	for _, p := range d.pairs(n, path) {
		if p.key.Kind != yaml.ScalarNode {
			d.note(p.key, path, "keys must be plain names")
			ok = false
			continue
		}
		name := p.key.Value
		fp := joinPath(path, name)
		if !p.merged {
			if line, dup := seen[name]; dup {
				d.problem(p.key, fp, fmt.Sprintf("is set twice (first on line %d)", line))
				ok = false
				continue
			}
			seen[name] = p.key.Line
		}
		i, known := index[name]
		if !known {
			msg := "unknown field"
			if s := suggest(name, names); s != "" {
				msg += "; did you mean " + s + "?"
				// "client_id is required" would only repeat the hint.
				d.tainted[joinPath(path, s)] = true
			}
			d.problem(p.key, fp, msg)
			ok = false
			continue
		}
		d.lines[fp] = p.key.Line
		d.present[fp] = !isNull(p.value)
		ok = d.decode(p.value, v.Field(i), fp) && ok
	}
	return ok
}

func (d *decoder) decodeMap(n *yaml.Node, v reflect.Value, path string) bool {
	if n.Kind != yaml.MappingNode {
		d.problem(n, path, "must be a mapping")
		return false
	}
	m := reflect.MakeMap(v.Type())
	seen := map[string]int{}
	ok := true
	for _, p := range d.pairs(n, path) {
		if p.key.Kind != yaml.ScalarNode {
			d.note(p.key, path, "keys must be plain names")
			ok = false
			continue
		}
		kp := joinPath(path, p.key.Value)
		if !p.merged {
			if line, dup := seen[p.key.Value]; dup {
				d.problem(p.key, kp, fmt.Sprintf("is set twice (first on line %d)", line))
				ok = false
				continue
			}
			seen[p.key.Value] = p.key.Line
		}
		d.lines[kp] = p.key.Line
		elem := reflect.New(v.Type().Elem()).Elem()
		if d.decode(p.value, elem, kp) {
			m.SetMapIndex(reflect.ValueOf(p.key.Value), elem)
		} else {
			ok = false
		}
	}
	v.Set(m)
	return ok
}

// structFields returns the YAML names of t's fields in order, and the field
// index of each name.
func structFields(t reflect.Type) ([]string, map[string]int) {
	var names []string
	index := map[string]int{}
	for i := range t.NumField() {
		name, _, _ := strings.Cut(t.Field(i).Tag.Get("yaml"), ",")
		if name == "" || name == "-" {
			continue
		}
		names = append(names, name)
		index[name] = i
	}
	return names, index
}

// suggest returns the known name closest to an unknown one, when it is
// close enough (two edits, counting a swap of neighbours as one) to be the
// likely intent.
func suggest(unknown string, known []string) string {
	norm := strings.ReplaceAll(strings.ToLower(unknown), "-", "_")
	best, bestDist := "", 3
	for _, k := range known {
		if dist := editDistance(norm, k); dist < bestDist && dist < len(unknown) {
			best, bestDist = k, dist
		}
	}
	return best
}

// editDistance is the optimal string alignment distance: insertions,
// deletions, substitutions and transpositions of adjacent bytes.
func editDistance(a, b string) int {
	prev2 := make([]int, len(b)+1)
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
			if i > 1 && j > 1 && a[i-1] == b[j-2] && a[i-2] == b[j-1] {
				cur[j] = min(cur[j], prev2[j-2]+1)
			}
		}
		prev2, prev, cur = prev, cur, prev2
	}
	return prev[len(b)]
}

// deriveIssuer handles a file that moves the listen address but leaves the
// issuer out: the default issuer would then point at the wrong place.
// On loopback the issuer follows the listen address; anywhere else only
// the operator knows the public URL.
func (d *decoder) deriveIssuer(cfg *Config) {
	if !d.present["listen"] || d.present["issuer"] {
		return
	}
	cfg.Issuer = ""
	d.tainted["issuer"] = true
	d.lines["issuer"] = d.lines["listen"] // report it next to what caused it
	if d.tainted["listen"] {
		return
	}
	host, _, err := net.SplitHostPort(cfg.Listen)
	if err != nil {
		return // Validate reports the listen address
	}
	if isLoopbackHost(host) {
		cfg.Issuer = "http://" + cfg.Listen
		delete(d.tainted, "issuer")
		return
	}
	msg := fmt.Sprintf("is required because listen %q is not a loopback address", cfg.Listen)
	if ip := net.ParseIP(host); host == "" || ip != nil && ip.IsUnspecified() {
		msg += " (it listens on every interface)"
	}
	d.problem(nil, "issuer", msg+"; set the public URL people reach Sallyport at, such as https://sso.example.com")
}

// secretSetting is a setting with a *_file variant.
type secretSetting struct {
	value, file         *string
	valuePath, filePath string
}

func secretSettings(cfg *Config) []secretSetting {
	s := []secretSetting{{&cfg.EncryptionKey, &cfg.EncryptionKeyFile, "encryption_key", "encryption_key_file"}}
	conn := func(cn *Connection, p string) {
		s = append(s,
			secretSetting{&cn.ClientSecret, &cn.ClientSecretFile, p + ".client_secret", p + ".client_secret_file"},
			secretSetting{&cn.PrivateKey, &cn.PrivateKeyFile, p + ".private_key", p + ".private_key_file"})
	}
	for i := range cfg.Connections {
		conn(&cfg.Connections[i], fmt.Sprintf("connections[%d]", i))
	}
	for i := range cfg.Orgs {
		for j := range cfg.Orgs[i].Connections {
			conn(&cfg.Orgs[i].Connections[j], fmt.Sprintf("orgs[%d].connections[%d]", i, j))
		}
	}
	for i := range cfg.Clients {
		cl := &cfg.Clients[i]
		p := fmt.Sprintf("clients[%d]", i)
		s = append(s, secretSetting{&cl.Secret, &cl.SecretFile, p + ".secret", p + ".secret_file"})
	}
	return s
}

// readSecretFiles moves the content of every *_file setting into its value
// setting and clears the *_file setting, so the rest of Sallyport only ever
// looks at the value. A value set both ways is left for Validate to report.
func (d *decoder) readSecretFiles(cfg *Config) {
	for _, s := range secretSettings(cfg) {
		if *s.file == "" || *s.value != "" {
			continue
		}
		content, err := readSecretFile(*s.file)
		*s.file = ""
		if err != nil {
			d.problem(nil, s.filePath, err.Error())
			d.tainted[s.valuePath] = true
			continue
		}
		*s.value = content
		d.fromFile[s.valuePath] = s.filePath
	}
}

// readSecretFile reads a secret, dropping the one trailing newline that
// editors and `echo` add and that is never part of the secret.
func readSecretFile(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", fmt.Errorf("cannot read the file: %w", err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxSecretFile+1))
	if err != nil {
		return "", fmt.Errorf("cannot read the file: %w", err)
	}
	if len(data) > maxSecretFile {
		return "", fmt.Errorf("%s is larger than 1 MiB; it is not a secret", path)
	}
	s := string(data)
	if t, ok := strings.CutSuffix(s, "\r\n"); ok {
		s = t
	} else {
		s = strings.TrimSuffix(s, "\n")
	}
	if s == "" {
		return "", fmt.Errorf("%s is empty", path)
	}
	return s, nil
}
