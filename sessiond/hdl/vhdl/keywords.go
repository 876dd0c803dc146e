package vhdl

// Code generated from the VHDL-2008 reserved word list (IEEE 1076-2008 15.10); keep in order.

const (
	_ uint8 = iota
	kwAbs
	kwAccess
	kwAfter
	kwAlias
	kwAll
	kwAnd
	kwArchitecture
	kwArray
	kwAssert
	kwAssume
	kwAssumeGuarantee
	kwAttribute
	kwBegin
	kwBlock
	kwBody
	kwBuffer
	kwBus
	kwCase
	kwComponent
	kwConfiguration
	kwConstant
	kwContext
	kwCover
	kwDefault
	kwDisconnect
	kwDownto
	kwElse
	kwElsif
	kwEnd
	kwEntity
	kwExit
	kwFairness
	kwFile
	kwFor
	kwForce
	kwFunction
	kwGenerate
	kwGeneric
	kwGroup
	kwGuarded
	kwIf
	kwImpure
	kwIn
	kwInertial
	kwInout
	kwIs
	kwLabel
	kwLibrary
	kwLinkage
	kwLiteral
	kwLoop
	kwMap
	kwMod
	kwNand
	kwNew
	kwNext
	kwNor
	kwNot
	kwNull
	kwOf
	kwOn
	kwOpen
	kwOr
	kwOthers
	kwOut
	kwPackage
	kwParameter
	kwPort
	kwPostponed
	kwProcedure
	kwProcess
	kwProperty
	kwProtected
	kwPure
	kwRange
	kwRecord
	kwRegister
	kwReject
	kwRelease
	kwRem
	kwReport
	kwRestrict
	kwRestrictGuarantee
	kwReturn
	kwRol
	kwRor
	kwSelect
	kwSequence
	kwSeverity
	kwShared
	kwSignal
	kwSla
	kwSll
	kwSra
	kwSrl
	kwStrong
	kwSubtype
	kwThen
	kwTo
	kwTransport
	kwType
	kwUnaffected
	kwUnits
	kwUntil
	kwUse
	kwVariable
	kwVmode
	kwVprop
	kwVunit
	kwWait
	kwWhen
	kwWhile
	kwWith
	kwXnor
	kwXor
)

var kwNames = [...]string{"",
	"abs",
	"access",
	"after",
	"alias",
	"all",
	"and",
	"architecture",
	"array",
	"assert",
	"assume",
	"assume_guarantee",
	"attribute",
	"begin",
	"block",
	"body",
	"buffer",
	"bus",
	"case",
	"component",
	"configuration",
	"constant",
	"context",
	"cover",
	"default",
	"disconnect",
	"downto",
	"else",
	"elsif",
	"end",
	"entity",
	"exit",
	"fairness",
	"file",
	"for",
	"force",
	"function",
	"generate",
	"generic",
	"group",
	"guarded",
	"if",
	"impure",
	"in",
	"inertial",
	"inout",
	"is",
	"label",
	"library",
	"linkage",
	"literal",
	"loop",
	"map",
	"mod",
	"nand",
	"new",
	"next",
	"nor",
	"not",
	"null",
	"of",
	"on",
	"open",
	"or",
	"others",
	"out",
	"package",
	"parameter",
	"port",
	"postponed",
	"procedure",
	"process",
	"property",
	"protected",
	"pure",
	"range",
	"record",
	"register",
	"reject",
	"release",
	"rem",
	"report",
	"restrict",
	"restrict_guarantee",
	"return",
	"rol",
	"ror",
	"select",
	"sequence",
	"severity",
	"shared",
	"signal",
	"sla",
	"sll",
	"sra",
	"srl",
	"strong",
	"subtype",
	"then",
	"to",
	"transport",
	"type",
	"unaffected",
	"units",
	"until",
	"use",
	"variable",
	"vmode",
	"vprop",
	"vunit",
	"wait",
	"when",
	"while",
	"with",
	"xnor",
	"xor",
}

// kwTable is an open-addressing hash of the reserved words, keyed by
// kwHash of the lower-case word.
var kwTable = func() (t [kwTableSize]uint8) {
	for i := 1; i < len(kwNames); i++ {
		h := kwHash([]byte(kwNames[i]))
		for t[h] != 0 {
			h = (h + 1) & (kwTableSize - 1)
		}
		t[h] = uint8(i)
	}
	return
}()

const kwTableSize = 512

// kwHash hashes a word by its length and first, second and last letters,
// ignoring case.
func kwHash(b []byte) uint32 {
	n := len(b)
	c0, c1, cl := uint32(b[0]|0x20), uint32(b[1]|0x20), uint32(b[n-1]|0x20)
	return (c0*131 + c1*31 + cl*7 + uint32(n)*17) & (kwTableSize - 1)
}

// maxKeywordLen is the length of the longest reserved word.
const maxKeywordLen = len("restrict_guarantee")

// lookupKeywordBytes returns the keyword id of b (any case) or 0.
func lookupKeywordBytes(b []byte) uint8 {
	if len(b) > maxKeywordLen || len(b) < 2 {
		return 0
	}
	h := kwHash(b)
	for {
		id := kwTable[h]
		if id == 0 {
			return 0
		}
		if w := kwNames[id]; len(w) == len(b) {
			match := true
			for i := 0; i < len(b); i++ {
				c := b[i]
				if c >= 'A' && c <= 'Z' {
					c += 'a' - 'A'
				}
				if c != w[i] {
					match = false
					break
				}
			}
			if match {
				return id
			}
		}
		h = (h + 1) & (kwTableSize - 1)
	}
}

func lookupKeyword(s string) uint8 {
	if len(s) > maxKeywordLen || len(s) < 2 {
		return 0
	}
	var buf [maxKeywordLen]byte
	return lookupKeywordBytes(append(buf[:0], s...))
}
