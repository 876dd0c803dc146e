// Package design is the language-neutral model of HDL source that the
// Verilog/SystemVerilog and VHDL parsers produce and the HDL language server
// analyses: design units (modules, interfaces, packages, classes, entities,
// architectures) with their parameters, ports, declarations, instances,
// assignments and identifier uses, each with its exact place in the source.
//
// A parser fills the model from one file (plus, for Verilog, what that file
// includes); it never resolves names across files. Resolution, widths and
// everything project-wide live in the analysis that reads the model.
package design

// Lang is a source language.
type Lang uint8

const (
	Verilog Lang = iota + 1
	SystemVerilog
	VHDL
)

func (l Lang) String() string {
	switch l {
	case Verilog:
		return "verilog"
	case SystemVerilog:
		return "systemverilog"
	case VHDL:
		return "vhdl"
	}
	return "unknown"
}

// Span is a half-open byte range [Start, End) in one file. File is the
// workspace-relative path with forward slashes ("rtl/top.v"). A span from
// text that came through an `include names the included file; text produced
// by a macro expansion carries the span of the macro use.
type Span struct {
	File       string
	Start, End int
}

// Contains reports whether off lies in s (End inclusive, so a cursor just
// after the last character still counts).
func (s Span) Contains(file string, off int) bool {
	return s.File == file && off >= s.Start && off <= s.End
}

// Valid reports whether s names a place.
func (s Span) Valid() bool { return s.File != "" && s.End >= s.Start }

// File is one parsed source file.
type File struct {
	Path string
	Lang Lang
	// Units are the design units in source order. For Verilog that is
	// modules, interfaces, programs, packages, top-level classes and the
	// compilation-unit scope ($unit, Kind UnitCompilation) when anything is
	// declared outside a unit; for VHDL entities, architectures, packages
	// and package bodies.
	Units []*Unit
	// Macros are the `define's this file makes (not its includes').
	Macros []*Macro
	// MacroUses are every `NAME use, including in inactive-free text of
	// included files (their spans name that file).
	MacroUses []Ref
	// Includes are the `include directives, resolved or not.
	Includes []Include
	// Inactive are the regions an `ifdef/`ifndef/`elsif/`else excluded
	// under the defines the file was parsed with (the directive lines
	// themselves stay active).
	Inactive []Span
	// Libraries are VHDL `library`/`use` clauses (Text "ieee.std_logic_1164.all").
	Libraries []Ref
	// Diags are syntax errors and preprocessor problems.
	Diags []Diag
	// Folds are foldable regions (units, begin/end, generate, case,
	// port lists, block comments), each spanning at least two lines.
	Folds []Span
	// Tokens classify every identifier, keyword, number, string, comment
	// and directive for semantic highlighting, in source order, for this
	// file only (not included files).
	Tokens []Token
}

// UnitKind says what a Unit is.
type UnitKind uint8

const (
	UnitModule UnitKind = iota + 1
	UnitInterface
	UnitProgram
	UnitPackage
	UnitClass
	UnitCompilation // Verilog $unit: declarations outside any unit
	UnitEntity
	UnitArchitecture
	UnitPackageBody // VHDL
	UnitConfiguration
	UnitChecker
	UnitPrimitive // Verilog UDP
)

// Unit is a design unit.
type Unit struct {
	Kind UnitKind
	Name string
	// NameSpan is the name at its declaration; Full runs from the first
	// keyword to the closing keyword (or where parsing stopped).
	NameSpan, Full Span
	// Of is the entity an architecture implements, the package a body
	// belongs to, or a class's base class ("" when none).
	Of     string
	OfSpan Span
	// Doc is the comment right above the unit (or on its line), with the
	// comment markers removed.
	Doc string
	// Params are parameters/generics: the #( ) list first, then body
	// `parameter`s (Local false) and `localparam`s (Local true).
	Params []*Decl
	// Ports in declaration order, with direction and type. Non-ANSI
	// Verilog ports get their direction and type from the body
	// declaration.
	Ports []*Decl
	// ParamList and PortList span the parenthesised lists including the
	// parentheses (zero Span when absent).
	ParamList, PortList Span
	// Body is the unit's scope: its declarations, instances, statements.
	// For a VHDL entity it holds the entity's declarative part.
	Body *Scope
}

// ScopeKind says what opened a Scope.
type ScopeKind uint8

const (
	ScopeUnit ScopeKind = iota + 1
	ScopeGenerate
	ScopeBlock // begin/end, fork/join, VHDL block
	ScopeFunction
	ScopeTask
	ScopeProcess // always*/initial/final, VHDL process
	ScopeClass   // a class nested in a unit
)

// Scope is a region with its own declarations.
type Scope struct {
	Kind ScopeKind
	// Name is the label ("gen_lane", a function's name) or "".
	Name     string
	NameSpan Span
	Full     Span
	// Decl is the declaration that opened the scope (function, task,
	// class), or nil.
	Decl      *Decl
	Decls     []*Decl
	Instances []*Instance
	Scopes    []*Scope
	// Refs are the identifier uses directly in this scope (not in child
	// scopes), each to be resolved from this scope outwards. Connection
	// names and parameter-override names are not Refs (they live on
	// Conn); the expressions connected are.
	Refs    []Ref
	Assigns []Assign
	Imports []Import
}

// DeclKind says what a Decl declares.
type DeclKind uint8

const (
	DeclPort DeclKind = iota + 1
	DeclParam
	DeclLocalParam
	DeclNet      // wire, tri, ... (SV: net declarations)
	DeclVar      // reg, logic, bit, integer, int, VHDL variable, struct-typed variables
	DeclSignal   // VHDL signal
	DeclConstant // VHDL constant
	DeclGenvar
	DeclTypedef // typedef, VHDL type/subtype
	DeclEnumMember
	DeclField // struct/union member
	DeclFunction
	DeclTask
	DeclArg // function/task argument
	DeclModport
	DeclModportItem
	DeclComponent // VHDL component
	DeclAlias
	DeclInterfacePort // an interface-typed port or an interface instance used as a port
	DeclLabel         // a named generate block or statement label
	DeclClass
	DeclEvent
)

// Dir is a port or argument direction.
type Dir uint8

const (
	DirNone Dir = iota
	DirInput
	DirOutput
	DirInout
	DirRef
	DirBuffer  // VHDL
	DirLinkage // VHDL
)

func (d Dir) String() string {
	switch d {
	case DirInput:
		return "input"
	case DirOutput:
		return "output"
	case DirInout:
		return "inout"
	case DirRef:
		return "ref"
	case DirBuffer:
		return "buffer"
	case DirLinkage:
		return "linkage"
	}
	return ""
}

// Decl is one declared name.
type Decl struct {
	Kind DeclKind
	Name string
	// Span is the name; Full is the whole declaration statement (shared by
	// names declared together: `wire a, b;`).
	Span, Full Span
	Dir        Dir
	Type       Type
	// Value is a parameter's default, an enum member's value, a constant's
	// or an initialised variable's value, or nil.
	Value *Expr
	// Doc is the comment right above the declaration or after it on the
	// same line, markers removed.
	Doc string
	// Members are struct/union fields, enum members (also declared in the
	// enclosing scope), function/task arguments, modport items.
	Members []*Decl
	// Implicit marks a net Verilog creates implicitly (never from a parser;
	// the analysis may add them).
	Implicit bool
}

// Type is a declared type as far as syntax tells.
type Type struct {
	// Text is the type as written, whitespace collapsed: "logic [WIDTH-1:0]",
	// "std_logic_vector(7 downto 0)", "pkg::state_t".
	Text string
	// Keyword is the built-in type or net keyword ("wire", "logic", "reg",
	// "int", "integer", "std_logic"...) or "" for a named type.
	Keyword string
	// Name is a named type ("state_t", "pkg::state_t", "axi_if.master",
	// VHDL "unsigned") and NameSpan where it is written.
	Name     string
	NameSpan Span
	Signed   bool
	// Packed are packed dimensions outermost first ([7:0] in
	// `logic [7:0] x [4]`); for VHDL the index constraint. Unpacked are the
	// dimensions after the name.
	Packed, Unpacked []Range
	// Struct/Enum/Union: the members for an inline aggregate type.
	Aggregate string // "struct", "union", "enum" or ""
	Members   []*Decl
	// Base is an enum's base type, nil when implicit int.
	Base *Type
}

// Range is one dimension: Verilog [Left:Right], VHDL Left downto/to Right
// (Downto tells which). A dimension written [N] has Size N and Left and
// Right nil.
type Range struct {
	Left, Right *Expr
	Size        *Expr
	Downto      bool // VHDL "downto"
	Span        Span
}

// ExprOp says what an Expr is.
type ExprOp uint8

const (
	ExprIdent     ExprOp = iota + 1 // Text is the name
	ExprNumber                      // Text is the literal: "8'hFF", "42", "'0", "x\"AB\""
	ExprString                      // Text includes the quotes
	ExprUnary                       // Text is the operator; Args[0]
	ExprBinary                      // Text is the operator; Args[0], Args[1]
	ExprTernary                     // Args: cond, then, else
	ExprConcat                      // Args: the parts
	ExprReplicate                   // Args[0] count, Args[1] a concatenation
	ExprIndex                       // Args[0] base, Args[1] index (a[i])
	ExprSlice                       // Args[0] base, Args[1] left, Args[2] right; Text ":", "+:", "-:", "downto", "to"
	ExprCall                        // Args[0] callee (Ident or system task Text "$clog2"), Args[1:] arguments
	ExprMember                      // Args[0] base; Text the member name; NameSpan in Span's end part
	ExprScoped                      // pkg::name: Text "pkg", Args[0] the Ident after ::
	ExprParen                       // Args[0]
	ExprCast                        // type'(x): Text the type, Args[0]
	ExprAggregate                   // '{...} or VHDL (others => '0'): Args the elements
	ExprOther                       // anything else, kept for its Span
)

// Expr is an expression tree, as much as the parser understood.
type Expr struct {
	Op   ExprOp
	Text string
	Span Span
	// NameSpan is the member name of an ExprMember, the name of an
	// ExprIdent (same as Span) or the item of an ExprScoped.
	NameSpan Span
	Args     []*Expr
}

// RefKind tells what sort of name use a Ref is.
type RefKind uint8

const (
	RefValue  RefKind = iota + 1 // a name in an expression
	RefType                      // a type name (typedef, class, interface as a type)
	RefScoped                    // pkg::name; Pkg is the package
	RefMacro                     // `NAME
	RefUnit                      // a unit name outside an instantiation: import pkg::*, architecture of E, `use work.E`
	RefCall                      // function or task called
	RefHier                      // the first name of a.b.c when it is hierarchical (the analysis decides)
)

// Ref is one use of a name.
type Ref struct {
	Kind RefKind
	Name string
	Span Span
	// Pkg is the package of a RefScoped ("pkg" in pkg::name).
	Pkg string
	// Path is the member chain after the name for a.b.c (["b","c"]) with
	// PathSpans; the analysis resolves struct members and hierarchical
	// names from it.
	Path      []string
	PathSpans []Span
	// Text is the full text of a VHDL library/use clause; otherwise "".
	Text string
}

// Instance is a module, interface or entity instantiated in a scope.
type Instance struct {
	// Module is the instantiated unit's name ("fifo", VHDL "work.fifo"
	// shortened to "fifo" with Lib "work") and where it is written.
	Module     string
	ModuleSpan Span
	Lib        string
	// Component marks a VHDL component instantiation (vs. entity).
	Component bool
	Name      string
	NameSpan  Span
	Full      Span
	// ParamList and PortList span the #( ... ) or generic map ( ... ) and
	// ( ... ) or port map ( ... ) lists including parentheses. When the
	// source ends before the closing parenthesis, End is where it stopped.
	ParamList, PortList Span
	Params              []Conn
	Ports               []Conn
	// Wildcard is SystemVerilog's .* in the port list.
	Wildcard     bool
	WildcardSpan Span
	// Array is an instance array's dimension ([3:0] after the name).
	Array *Range
}

// Conn is one parameter override or port connection.
type Conn struct {
	// Name is the formal (".clk(", "clk =>"), "" when positional.
	Name     string
	NameSpan Span
	// Expr is the actual, nil for .name() or an implicit .name.
	Expr *Expr
	// Implicit is SystemVerilog's .name shorthand.
	Implicit bool
	Full     Span
}

// AssignKind says what an Assign is.
type AssignKind uint8

const (
	AssignContinuous  AssignKind = iota + 1 // assign a = b;  VHDL concurrent a <= b;
	AssignBlocking                          // a = b;  VHDL variable a := b;
	AssignNonblocking                       // a <= b; VHDL sequential signal a <= b;
	AssignInit                              // wire a = b; declaration initialiser
)

// Assign is one assignment whose widths the analysis may compare.
type Assign struct {
	Kind     AssignKind
	LHS, RHS *Expr
	Full     Span
}

// Import is a SystemVerilog `import pkg::*;` / `import pkg::name;` or a VHDL
// `use work.pkg.all;` visible in a scope.
type Import struct {
	Pkg     string
	PkgSpan Span
	// Name is the imported item or "*" for all.
	Name string
	Full Span
}

// Macro is a `define.
type Macro struct {
	Name   string
	Span   Span // the name in the `define line
	Full   Span // the whole directive, continuation lines included
	Params []string
	Body   string // the replacement text, continuation backslashes removed
	Doc    string
}

// Include is an `include "file" directive.
type Include struct {
	// Name is what was written between the quotes or angle brackets.
	Name string
	Span Span // the quoted name
	// Resolved is the workspace-relative path found, "" when not found.
	Resolved string
}

// Severity of a Diag, numbered as LSP's DiagnosticSeverity.
type Severity uint8

const (
	Error       Severity = 1
	Warning     Severity = 2
	Information Severity = 3
	Hint        Severity = 4
)

// Diag is a problem in the source.
type Diag struct {
	Span     Span
	Severity Severity
	Message  string
	// Code is a short stable identifier ("syntax", "unknown-module",
	// "missing-port", "width-mismatch", "undeclared", "include-not-found").
	Code string
}

// TokenKind classifies a Token for semantic highlighting.
type TokenKind uint8

const (
	TokKeyword TokenKind = iota + 1
	TokIdent
	TokNumber
	TokString
	TokComment
	TokDirective // `define, `ifdef, `include, ...
	TokMacro     // `NAME use
	TokSystem    // $display, $clog2
	TokOperator
	TokInactive // text excluded by `ifdef
)

// Token is one classified token of a file, by byte offsets in that file.
type Token struct {
	Kind       TokenKind
	Start, End int
}
