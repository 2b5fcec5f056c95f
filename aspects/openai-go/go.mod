module overlay-gen.invalid/openaitrace

go 1.26.0

require (
	github.com/openai/openai-go/v3 v3.0.0
	overlay-gen.invalid/otelrt v0.0.0
)

replace overlay-gen.invalid/otelrt => ../runtime
