module overlay-gen.invalid/anthropictrace

go 1.26.0

require (
	github.com/anthropics/anthropic-sdk-go v1.0.0
	overlay-gen.invalid/otelrt v0.0.0
)

replace overlay-gen.invalid/otelrt => ../runtime
