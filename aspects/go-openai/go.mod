module overlay-gen.invalid/goopenaitrace

go 1.26.0

require (
	github.com/sashabaranov/go-openai v1.29.0
	overlay-gen.invalid/otelrt v0.0.0
)

replace overlay-gen.invalid/otelrt => ../runtime
