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

var keywordIDs = func() map[string]uint8 {
	m := make(map[string]uint8, len(kwNames))
	for i, w := range kwNames {
		if i > 0 {
			m[w] = uint8(i)
		}
	}
	return m
}()

// maxKeywordLen is the length of the longest reserved word.
const maxKeywordLen = len("restrict_guarantee")

// lookupKeywordBytes returns the keyword id of b (any case) or 0.
func lookupKeywordBytes(b []byte) uint8 {
	if len(b) > maxKeywordLen || len(b) < 2 {
		return 0
	}
	var buf [maxKeywordLen]byte
	for i, c := range b {
		if c >= 'A' && c <= 'Z' {
			c += 'a' - 'A'
		}
		buf[i] = c
	}
	return keywordIDs[string(buf[:len(b)])]
}

func lookupKeyword(s string) uint8 {
	if len(s) > maxKeywordLen || len(s) < 2 {
		return 0
	}
	var buf [maxKeywordLen]byte
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 'A' && c <= 'Z' {
			c += 'a' - 'A'
		}
		buf[i] = c
	}
	return keywordIDs[string(buf[:len(s)])]
}
