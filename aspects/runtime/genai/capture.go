package genai

import (
	"encoding/json"
	"sort"
	"strings"

	"go.opentelemetry.io/otel/attribute"
)

// What the span records of prompts and completions, when Capture says so:
// the conventions' gen_ai.input.messages, gen_ai.output.messages and
// gen_ai.system_instructions, JSON of their message schema.

// message is a message of a request (OpenAI's chat, Anthropic's messages)
// or of an OpenAI answer (a choice's message or delta).
type message struct {
	Role       string          `json:"role"`
	Content    json.RawMessage `json:"content"` // a string, or parts (OpenAI) or blocks (Anthropic)
	ToolCalls  []toolCall      `json:"tool_calls"`
	ToolCallID string          `json:"tool_call_id"`
}

type toolCall struct {
	Index    int    `json:"index"`
	ID       string `json:"id"`
	Function struct {
		Name      string `json:"name"`
		Arguments string `json:"arguments"`
	} `json:"function"`
}

// block is an OpenAI content part or an Anthropic content block.
type block struct {
	Type      string          `json:"type"`
	Text      string          `json:"text"`
	ID        string          `json:"id"`
	Name      string          `json:"name"`
	Input     json.RawMessage `json:"input"`       // tool_use
	ToolUseID string          `json:"tool_use_id"` // tool_result
	Content   json.RawMessage `json:"content"`     // tool_result
}

// part is a part of the conventions' message schema.
type part struct {
	Type      string `json:"type"`
	Content   any    `json:"content,omitempty"`
	ID        string `json:"id,omitempty"`
	Name      string `json:"name,omitempty"`
	Arguments any    `json:"arguments,omitempty"`
	Response  any    `json:"response,omitempty"`
}

type chatMessage struct {
	Role         string `json:"role"`
	Parts        []part `json:"parts"`
	FinishReason string `json:"finish_reason,omitempty"`
}

func (c *call) captureInput(in *request) {
	var messages []chatMessage
	if len(in.Prompt) > 0 { // completions: a prompt or prompts
		var one string
		var many []string
		if json.Unmarshal(in.Prompt, &one) == nil {
			many = []string{one}
		} else {
			_ = json.Unmarshal(in.Prompt, &many)
		}
		for _, p := range many {
			messages = append(messages, chatMessage{Role: "user", Parts: []part{{Type: "text", Content: p}}})
		}
	}
	var list []message
	_ = json.Unmarshal(in.Messages, &list)
	for _, m := range list {
		messages = append(messages, inputMessage(m))
	}
	if len(in.Input) > 0 && c.apiType == "responses" {
		messages = append(messages, responsesInput(in.Input)...)
	}
	var instructions string
	if json.Unmarshal(in.Instructions, &instructions) == nil && instructions != "" {
		c.span.SetAttributes(attribute.String(attrSystem, marshal([]part{{Type: "text", Content: instructions}})))
	}
	if len(messages) > 0 {
		c.span.SetAttributes(attribute.String(attrInputMessages, marshal(messages)))
	}
	if len(in.System) > 0 { // Anthropic's system prompt
		if parts := contentParts(in.System); len(parts) > 0 {
			c.span.SetAttributes(attribute.String(attrSystem, marshal(parts)))
		}
	}
}

func inputMessage(m message) chatMessage {
	out := chatMessage{Role: m.Role}
	if m.Role == "tool" { // OpenAI: a tool's answer
		out.Parts = []part{{Type: "tool_call_response", ID: m.ToolCallID, Response: text(m.Content)}}
		return out
	}
	out.Parts = contentParts(m.Content)
	for _, t := range m.ToolCalls {
		out.Parts = append(out.Parts, part{Type: "tool_call", ID: t.ID, Name: t.Function.Name, Arguments: arguments(t.Function.Arguments)})
	}
	if out.Parts == nil {
		out.Parts = []part{}
	}
	return out
}

// contentParts reads a content: a string, or OpenAI's parts, or Anthropic's blocks.
func contentParts(content json.RawMessage) []part {
	var s string
	if json.Unmarshal(content, &s) == nil {
		return []part{{Type: "text", Content: s}}
	}
	var blocks []block
	_ = json.Unmarshal(content, &blocks)
	var parts []part
	for _, b := range blocks {
		parts = append(parts, blockPart(b))
	}
	return parts
}

func blockPart(b block) part {
	switch b.Type {
	case "text", "input_text", "output_text":
		return part{Type: "text", Content: b.Text}
	case "tool_use":
		return part{Type: "tool_call", ID: b.ID, Name: b.Name, Arguments: raw(b.Input)}
	case "tool_result":
		return part{Type: "tool_call_response", ID: b.ToolUseID, Response: text(b.Content)}
	}
	return part{Type: b.Type} // images, documents...: their kind only
}

// text is a content as text: a string, or its parts' texts joined.
func text(content json.RawMessage) any {
	var s string
	if json.Unmarshal(content, &s) == nil {
		return s
	}
	var texts []string
	for _, p := range contentParts(content) {
		if t, ok := p.Content.(string); ok {
			texts = append(texts, t)
		}
	}
	return strings.Join(texts, "")
}

func arguments(s string) any {
	var v any
	if json.Unmarshal([]byte(s), &v) == nil {
		return v
	}
	return s
}

func raw(r json.RawMessage) any {
	var v any
	if len(r) == 0 || json.Unmarshal(r, &v) != nil {
		return nil
	}
	return v
}

func marshal(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// outMessage is a completion as it comes: whole, or in a stream's pieces.
type outMessage struct {
	role    string
	parts   []*outPart
	byIndex map[int]*outPart // OpenAI's tool calls, Anthropic's blocks
	text    *outPart         // OpenAI's content
}

type outPart struct {
	kind     string
	text     strings.Builder
	id, name string
	args     strings.Builder
	input    any
}

func (c *call) outMessage(i int) *outMessage {
	if c.outputs == nil {
		c.outputs = map[int]*outMessage{}
	}
	m := c.outputs[i]
	if m == nil {
		m = &outMessage{role: "assistant", byIndex: map[int]*outPart{}}
		c.outputs[i] = m
	}
	return m
}

func (m *outMessage) add(p *outPart) *outPart {
	m.parts = append(m.parts, p)
	return p
}

func (m *outMessage) appendText(s string) {
	if m.text == nil {
		m.text = m.add(&outPart{kind: "text"})
	}
	m.text.text.WriteString(s)
}

// captureChoice takes an OpenAI choice: a message, a delta or a text.
func (c *call) captureChoice(ch *choice) {
	m := c.outMessage(ch.Index)
	if ch.Text != nil {
		m.appendText(*ch.Text)
	}
	msg := ch.Message
	if msg == nil {
		msg = ch.Delta
	}
	if msg == nil {
		return
	}
	if msg.Role != "" {
		m.role = msg.Role
	}
	var s string
	if json.Unmarshal(msg.Content, &s) == nil && s != "" {
		m.appendText(s)
	}
	for n, t := range msg.ToolCalls {
		index := t.Index
		if ch.Message != nil {
			index = n
		}
		p := m.byIndex[index]
		if p == nil {
			p = m.add(&outPart{kind: "tool_call"})
			m.byIndex[index] = p
		}
		if t.ID != "" {
			p.id = t.ID
		}
		if t.Function.Name != "" {
			p.name = t.Function.Name
		}
		p.args.WriteString(t.Function.Arguments)
	}
}

// captureAnthropic takes an Anthropic message or stream event.
func (c *call) captureAnthropic(out *response) {
	if c.provider != Anthropic {
		return
	}
	switch out.Type {
	case "message":
		m := c.outMessage(0)
		if out.Role != "" {
			m.role = out.Role
		}
		var blocks []block
		_ = json.Unmarshal(out.Content, &blocks)
		for _, b := range blocks {
			p := blockPart(b)
			m.add(&outPart{kind: p.Type, id: p.ID, name: p.Name, input: p.Arguments})
			if s, ok := p.Content.(string); ok {
				m.parts[len(m.parts)-1].text.WriteString(s)
			}
		}
	case "content_block_start":
		if out.Index == nil || out.ContentBlock == nil {
			return
		}
		m := c.outMessage(0)
		b := blockPart(*out.ContentBlock)
		p := m.add(&outPart{kind: b.Type, id: b.ID, name: b.Name})
		if s, ok := b.Content.(string); ok {
			p.text.WriteString(s)
		}
		m.byIndex[*out.Index] = p
	case "content_block_delta":
		if out.Index == nil || out.Delta == nil {
			return
		}
		p := c.outMessage(0).byIndex[*out.Index]
		if p == nil {
			return
		}
		p.text.WriteString(out.Delta.Text)
		p.args.WriteString(out.Delta.PartialJSON)
	}
}

func (c *call) outputJSON() string {
	indices := make([]int, 0, len(c.outputs))
	for i := range c.outputs {
		indices = append(indices, i)
	}
	sort.Ints(indices)
	var messages []chatMessage
	for _, i := range indices {
		m := c.outputs[i]
		out := chatMessage{Role: m.role, Parts: []part{}, FinishReason: c.finish[i]}
		for _, p := range m.parts {
			switch p.kind {
			case "text":
				out.Parts = append(out.Parts, part{Type: "text", Content: p.text.String()})
			case "tool_call":
				args := p.input
				if p.args.Len() > 0 {
					args = arguments(p.args.String())
				}
				out.Parts = append(out.Parts, part{Type: "tool_call", ID: p.id, Name: p.name, Arguments: args})
			default:
				out.Parts = append(out.Parts, part{Type: p.kind})
			}
		}
		messages = append(messages, out)
	}
	return marshal(messages)
}

// item is an item of a Responses input or output: a message, a function
// call or its output.
type item struct {
	Type      string          `json:"type"`
	Role      string          `json:"role"`
	Content   json.RawMessage `json:"content"`
	CallID    string          `json:"call_id"`
	Name      string          `json:"name"`
	Arguments string          `json:"arguments"`
	Output    json.RawMessage `json:"output"`
}

// responsesInput reads a Responses input: a string (the user's), or items.
func responsesInput(input json.RawMessage) []chatMessage {
	var s string
	if json.Unmarshal(input, &s) == nil {
		return []chatMessage{{Role: "user", Parts: []part{{Type: "text", Content: s}}}}
	}
	var items []item
	_ = json.Unmarshal(input, &items)
	var messages []chatMessage
	for _, it := range items {
		switch it.Type {
		case "", "message":
			m := chatMessage{Role: it.Role, Parts: contentParts(it.Content)}
			if m.Parts == nil {
				m.Parts = []part{}
			}
			messages = append(messages, m)
		case "function_call":
			messages = append(messages, chatMessage{Role: "assistant", Parts: []part{{Type: "tool_call", ID: it.CallID, Name: it.Name, Arguments: arguments(it.Arguments)}}})
		case "function_call_output":
			messages = append(messages, chatMessage{Role: "tool", Parts: []part{{Type: "tool_call_response", ID: it.CallID, Response: text(it.Output)}}})
		default:
			messages = append(messages, chatMessage{Role: "user", Parts: []part{{Type: it.Type}}})
		}
	}
	return messages
}

// captureResponse takes a finished Responses answer's output: one message.
func (c *call) captureResponse(output json.RawMessage) {
	var items []item
	_ = json.Unmarshal(output, &items)
	m := c.outMessage(0)
	m.parts, m.text = nil, nil
	for _, it := range items {
		switch it.Type {
		case "message":
			for _, p := range contentParts(it.Content) {
				if s, ok := p.Content.(string); ok && p.Type == "text" {
					m.appendText(s)
				} else {
					m.add(&outPart{kind: p.Type})
				}
			}
		case "function_call":
			p := m.add(&outPart{kind: "tool_call", id: it.CallID, name: it.Name})
			p.args.WriteString(it.Arguments)
		case "reasoning":
		default:
			m.add(&outPart{kind: it.Type})
		}
	}
}
