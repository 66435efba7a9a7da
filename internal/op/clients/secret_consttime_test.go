package clients

import (
	"go/ast"
	"go/parser"
	"go/token"
	"testing"
)

// TestVerifySecretIsConstantTime holds VerifySecret to DESIGN.md §7: client
// secrets are compared in constant time over their hashes. Timing cannot be
// measured reliably in a test (and must not be, on a shared machine), and
// bytes.Equal gives the same answers as subtle.ConstantTimeCompare, so the
// behavioural tests in secret_test.go cannot tell the two apart. This test
// reads the source instead: the one comparison is
// subtle.ConstantTimeCompare of hashSecret(presented) with the stored hash,
// and nothing else compares the secret or a hash of it.
func TestVerifySecretIsConstantTime(t *testing.T) {
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, "secret.go", nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	var fn *ast.FuncDecl
	for _, d := range f.Decls {
		if fd, ok := d.(*ast.FuncDecl); ok && fd.Name.Name == "VerifySecret" {
			fn = fd
		}
	}
	if fn == nil {
		t.Fatal("secret.go has no VerifySecret")
	}
	isCall := func(e ast.Expr, pkg, name string) (*ast.CallExpr, bool) {
		call, ok := e.(*ast.CallExpr)
		if !ok {
			return nil, false
		}
		switch fun := call.Fun.(type) {
		case *ast.SelectorExpr:
			x, ok := fun.X.(*ast.Ident)
			return call, ok && x.Name == pkg && fun.Sel.Name == name
		case *ast.Ident:
			return call, pkg == "" && fun.Name == name
		}
		return nil, false
	}
	constantTime := 0
	ast.Inspect(fn.Body, func(n ast.Node) bool {
		switch n := n.(type) {
		case *ast.CallExpr:
			if _, ok := isCall(n, "subtle", "ConstantTimeCompare"); ok {
				if len(n.Args) == 2 {
					if _, ok := isCall(n.Args[0], "", "hashSecret"); ok {
						constantTime++
						return true
					}
				}
				t.Errorf("%s: ConstantTimeCompare must compare hashSecret(presented) with the stored hash", fset.Position(n.Pos()))
			}
			for _, pkg := range []string{"bytes", "strings", "reflect", "slices"} {
				for _, name := range []string{"Equal", "EqualFold", "Compare", "DeepEqual"} {
					if _, ok := isCall(n, pkg, name); ok {
						t.Errorf("%s: %s.%s in VerifySecret compares in variable time", fset.Position(n.Pos()), pkg, name)
					}
				}
			}
		case *ast.BinaryExpr:
			if n.Op != token.EQL && n.Op != token.NEQ {
				return true
			}
			// presented == "" says nothing of the secret's content; any
			// other == or != on the secret, the stored hash or a hash of
			// the secret stops at the first differing byte.
			if lit, ok := n.Y.(*ast.BasicLit); ok && lit.Value == `""` {
				return true
			}
			for _, side := range []ast.Expr{n.X, n.Y} {
				if secretMaterial(side) {
					t.Errorf("%s: VerifySecret compares the secret with %s; use subtle.ConstantTimeCompare over the hashes", fset.Position(n.Pos()), n.Op)
				}
			}
		}
		return true
	})
	if constantTime != 1 {
		t.Errorf("VerifySecret calls subtle.ConstantTimeCompare(hashSecret(...), ...) %d times, want once", constantTime)
	}
}

// secretMaterial reports whether e is the presented secret, the stored hash,
// a hash of the secret, or a conversion of one of them.
func secretMaterial(e ast.Expr) bool {
	switch e := e.(type) {
	case *ast.Ident:
		return e.Name == "presented"
	case *ast.SelectorExpr:
		return e.Sel.Name == "SecretHash"
	case *ast.CallExpr:
		if id, ok := e.Fun.(*ast.Ident); ok && (id.Name == "hashSecret" || id.Name == "string") {
			return true
		}
		if len(e.Args) == 1 {
			return secretMaterial(e.Args[0]) && !isLen(e)
		}
	case *ast.ParenExpr:
		return secretMaterial(e.X)
	case *ast.IndexExpr:
		return secretMaterial(e.X) // a byte-by-byte loop
	case *ast.SliceExpr:
		return secretMaterial(e.X)
	}
	return false
}

func isLen(call *ast.CallExpr) bool {
	id, ok := call.Fun.(*ast.Ident)
	return ok && id.Name == "len"
}
