package parleyserver

import (
	"go/ast"
	"go/parser"
	"go/token"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
)

var (
	routePattern = regexp.MustCompile(`^(GET|HEAD|POST|PUT|PATCH|DELETE|OPTIONS) /`)
	// routeStart is how a pattern built by concatenation begins ("GET "+g).
	routeStart = regexp.MustCompile(`^(GET|HEAD|POST|PUT|PATCH|DELETE|OPTIONS) `)
)

// serverRoutes parses the REST package's sources and returns every route
// pattern registered with a method call (s.app, s.mux.HandleFunc,
// s.manage, ...), evaluating string constants, local variables and range
// loops over string slices. Registrations it cannot evaluate fail the test.
func serverRoutes(t *testing.T) []string {
	t.Helper()
	files, err := filepath.Glob("../../../internal/transport/rest/*.go")
	if err != nil || len(files) == 0 {
		t.Fatalf("no REST sources: %v", err)
	}
	fset := token.NewFileSet()
	seen := map[string]bool{}
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, name, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range f.Decls {
			if fn, ok := d.(*ast.FuncDecl); ok && fn.Body != nil {
				walkStmts(t, fset, fn.Body.List, map[string][]string{}, seen)
			}
		}
	}
	var out []string
	for p := range seen {
		out = append(out, p)
	}
	slices.Sort(out)
	return out
}

func walkStmts(t *testing.T, fset *token.FileSet, list []ast.Stmt, env map[string][]string, seen map[string]bool) {
	for _, st := range list {
		walkStmt(t, fset, st, env, seen)
	}
}

func walkStmt(t *testing.T, fset *token.FileSet, st ast.Stmt, env map[string][]string, seen map[string]bool) {
	switch s := st.(type) {
	case *ast.BlockStmt:
		walkStmts(t, fset, s.List, env, seen)
	case *ast.IfStmt:
		walkStmts(t, fset, s.Body.List, env, seen)
		if s.Else != nil {
			walkStmt(t, fset, s.Else, env, seen)
		}
	case *ast.RangeStmt:
		inner := maps(env)
		if v, ok := s.Value.(*ast.Ident); ok {
			if lit, ok := s.X.(*ast.CompositeLit); ok {
				var vals []string
				for _, e := range lit.Elts {
					if vs, ok := evalStr(e, env); ok {
						vals = append(vals, vs...)
					}
				}
				inner[v.Name] = vals
			}
		}
		walkStmts(t, fset, s.Body.List, inner, seen)
	case *ast.AssignStmt:
		if len(s.Lhs) == 1 && len(s.Rhs) == 1 {
			if id, ok := s.Lhs[0].(*ast.Ident); ok {
				if vs, ok := evalStr(s.Rhs[0], env); ok {
					env[id.Name] = vs
				}
			}
		}
		inspectCalls(t, fset, st, env, seen)
	default:
		inspectCalls(t, fset, st, env, seen)
	}
}

func maps(m map[string][]string) map[string][]string {
	out := make(map[string][]string, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

func inspectCalls(t *testing.T, fset *token.FileSet, n ast.Node, env map[string][]string, seen map[string]bool) {
	ast.Inspect(n, func(n ast.Node) bool {
		call, ok := n.(*ast.CallExpr)
		if !ok {
			return true
		}
		if _, method := call.Fun.(*ast.SelectorExpr); !method {
			return true
		}
		for _, arg := range call.Args {
			vals, ok := evalStr(arg, env)
			if !ok {
				if lit := leftmostLit(arg); lit != "" && routeStart.MatchString(lit) {
					t.Errorf("%s: cannot evaluate the route pattern", fset.Position(arg.Pos()))
				}
				continue
			}
			for _, v := range vals {
				if routePattern.MatchString(v) {
					seen[v] = true
				}
			}
		}
		return true
	})
}

func evalStr(e ast.Expr, env map[string][]string) ([]string, bool) {
	switch x := e.(type) {
	case *ast.BasicLit:
		if x.Kind != token.STRING {
			return nil, false
		}
		s, err := strconv.Unquote(x.Value)
		return []string{s}, err == nil
	case *ast.Ident:
		v, ok := env[x.Name]
		return v, ok
	case *ast.ParenExpr:
		return evalStr(x.X, env)
	case *ast.BinaryExpr:
		if x.Op != token.ADD {
			return nil, false
		}
		l, ok1 := evalStr(x.X, env)
		r, ok2 := evalStr(x.Y, env)
		if !ok1 || !ok2 {
			return nil, false
		}
		var out []string
		for _, a := range l {
			for _, b := range r {
				out = append(out, a+b)
			}
		}
		return out, true
	}
	return nil, false
}

func leftmostLit(e ast.Expr) string {
	for {
		switch x := e.(type) {
		case *ast.BinaryExpr:
			e = x.X
		case *ast.BasicLit:
			s, _ := strconv.Unquote(x.Value)
			return s
		default:
			return ""
		}
	}
}

// TestRoutes_Covered is issue 13's acceptance check: every route the server
// registers under /{org}/{app}/ and /management/ has an SDK method, and the
// SDK's table names no route the server lacks.
func TestRoutes_Covered(t *testing.T) {
	var api []string
	for _, p := range serverRoutes(t) {
		if strings.Contains(p, " /{org}/{app}/") || strings.Contains(p, " /management/") {
			api = append(api, p)
		}
	}
	if len(api) < 150 || !slices.Contains(api, "POST /{org}/{app}/messages/users") ||
		!slices.Contains(api, "DELETE /{org}/{app}/chatrooms/{id}/white/users/{usernames}") {
		t.Fatalf("the route parser found too little (%d routes): %v", len(api), api)
	}
	for _, p := range api {
		if _, ok := routeTable[p]; !ok {
			t.Errorf("route %q has no SDK method: add one and list it in routeTable (routes.go)", p)
		}
	}
	for p := range routeTable {
		if !slices.Contains(api, p) {
			t.Errorf("routeTable lists %q, which the server does not register", p)
		}
	}
	types := map[string]reflect.Type{"Client": reflect.TypeFor[*Client](), "Management": reflect.TypeFor[*Management]()}
	for p, methods := range routeTable {
		if len(methods) == 0 {
			t.Errorf("%s: no method", p)
		}
		for _, m := range methods {
			name, _, _ := strings.Cut(m, " ")
			typ, meth, ok := strings.Cut(name, ".")
			rt := types[typ]
			if !ok || rt == nil {
				t.Errorf("%s: %q is not Client.Method or Management.Method", p, m)
				continue
			}
			if _, ok := rt.MethodByName(meth); !ok {
				t.Errorf("%s: %s has no method %s", p, typ, meth)
			}
		}
	}
	if !t.Failed() {
		t.Logf("%d routes, all covered", len(api))
	}
}
