"""Checks that the fake Responses server speaks the wire format of the
official `openai` Python SDK: every streamed event and every response body
must validate against the SDK's own pydantic types (required fields present,
types right, no field the SDK does not know), and the SDK's client must read
the answers.

Usage: check_wire.py BASE_URL TAG[:stream]...

For each TAG it sends one streamed and one non-streamed request (only the
streamed one with `:stream`, for faults that break the connection) whose
input is the TAG (the Rust test's script picks the answer by that
substring) and checks what comes back; the first TAG must be a plain answer,
which the SDK's own client then reads. Prints one line per check; exits 1
on any mismatch.
"""

import http.client
import json
import sys
import typing
import urllib.error
import urllib.request

import pydantic
import openai
from openai.types import ErrorObject
from openai.types.responses import Response, ResponseStreamEvent

FAILURES = []


def fail(where, message):
    FAILURES.append(f"{where}: {message}")
    print(f"FAIL {where}: {message}")


def event_classes():
    """Maps each event `type` to the SDK class that describes it."""
    union = typing.get_args(ResponseStreamEvent)[0]
    classes = {}
    for cls in typing.get_args(union):
        for value in typing.get_args(cls.model_fields["type"].annotation):
            classes[value] = cls
    return classes


def unknown_fields(model, path):
    """Fields the SDK type does not declare, anywhere inside `model`."""
    found = []
    extra = getattr(model, "model_extra", None) or {}
    found.extend(f"{path}.{key}" for key in extra)
    for name in type(model).model_fields:
        found.extend(nested_unknown(getattr(model, name, None), f"{path}.{name}"))
    return found


def nested_unknown(value, path):
    if isinstance(value, pydantic.BaseModel):
        return unknown_fields(value, path)
    if isinstance(value, list):
        found = []
        for i, item in enumerate(value):
            found.extend(nested_unknown(item, f"{path}[{i}]"))
        return found
    if isinstance(value, dict):
        found = []
        for key, item in value.items():
            found.extend(nested_unknown(item, f"{path}.{key}"))
        return found
    return []


def validate(cls, data, where):
    """Strict validation: required fields, exact types, no unknown fields."""
    try:
        model = cls.model_validate(data, strict=True)
    except pydantic.ValidationError as e:
        fail(where, f"not a valid {cls.__name__}: {e}")
        return None
    # The SDK's types allow extra fields, and the live API sends some that
    # it does not declare (e.g. `store` on a Response): listed, not failed.
    extra = unknown_fields(model, cls.__name__)
    if extra:
        print(f"note {where}: fields the SDK does not declare: {', '.join(extra)}")
    return model


def post(base_url, tag, stream):
    body = json.dumps(
        {
            "model": "gpt-5.2-codex",
            "input": [
                {"type": "message", "role": "user",
                 "content": [{"type": "input_text", "text": tag}]}
            ],
            "instructions": "wire check",
            "reasoning": {"effort": "low"},
            "max_output_tokens": 2000,
            "stream": stream,
            "store": False,
            "prompt_cache_key": "codex-lsp-wire-check",
        }
    ).encode()
    request = urllib.request.Request(
        f"{base_url}/responses",
        data=body,
        headers={"Content-Type": "application/json", "Authorization": "Bearer sk-wire-check"},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            content_type = response.headers.get("content-type", "")
            try:
                return response.status, content_type, response.read()
            except http.client.IncompleteRead as e:
                # An aborted body (cutMidStream): check what did arrive.
                return response.status, content_type, e.partial
    except urllib.error.HTTPError as e:
        return e.code, e.headers.get("content-type", ""), e.read()
    except (urllib.error.URLError, ConnectionError, OSError) as e:
        fail(f"{tag} (stream={stream})", f"request failed: {e}")
        return None, "", b""


def sse_frames(raw):
    """(event, data) per frame, as the SDK's decoder splits them."""
    frames = []
    for block in raw.decode().replace("\r\n", "\n").split("\n\n"):
        event, data = None, []
        for line in block.split("\n"):
            if line.startswith("event:"):
                event = line[len("event:"):].strip()
            elif line.startswith("data:"):
                data.append(line[len("data:"):].lstrip())
        if data:
            frames.append((event, "\n".join(data)))
    return frames


def check_stream(tag, raw, classes):
    where = f"{tag} (stream)"
    sequence = 0
    kinds = []
    for event, data in sse_frames(raw):
        if data.startswith("[DONE]"):
            break
        payload = json.loads(data)
        kind = payload.get("type")
        kinds.append(kind)
        here = f"{where} #{sequence} {kind}"
        if event != kind:
            fail(here, f"SSE event name {event!r} differs from the JSON type")
        if payload.get("sequence_number") != sequence:
            fail(here, f"sequence_number {payload.get('sequence_number')!r}, expected {sequence}")
        sequence += 1
        if payload.get("error"):
            # What the SDK does with such a frame: it raises APIError with
            # error.message, never building an event from it.
            error = payload["error"]
            if not isinstance(error, dict) or not isinstance(error.get("message"), str):
                fail(here, "error frame without error.message (the SDK would show a stock message)")
            else:
                validate(ErrorObject, error, here)
            continue
        cls = classes.get(kind)
        if cls is None:
            fail(here, f"event type {kind!r} is not in the SDK's ResponseStreamEvent")
            continue
        validate(cls, payload, here)
    print(f"ok   {where}: {len(kinds)} events checked ({' '.join(str(k) for k in kinds)})")
    return kinds


def check_body(tag, status, content_type, raw):
    where = f"{tag} (json, HTTP {status})"
    if "application/json" not in content_type:
        fail(where, f"content-type {content_type!r}")
        return
    body = json.loads(raw)
    if status == 200:
        validate(Response, body, where)
    else:
        error = body.get("error") if isinstance(body, dict) else None
        if not isinstance(error, dict):
            fail(where, f"error body without an error object: {body}")
        else:
            validate(ErrorObject, error, where)
    print(f"ok   {where}")


def check_sdk_client(base_url, tag):
    """The SDK's own client reads a streamed and a plain answer."""
    client = openai.OpenAI(base_url=base_url, api_key="sk-wire-check", max_retries=0)
    plain = client.responses.create(model="gpt-5.2-codex", input=tag, store=False)
    streamed_text = ""
    completed = None
    with client.responses.stream(model="gpt-5.2-codex", input=tag, store=False) as stream:
        for event in stream:
            if event.type == "response.output_text.delta":
                streamed_text += event.delta
        completed = stream.get_final_response()
    if not plain.output_text:
        fail(f"{tag} (sdk)", "responses.create gave no output_text")
    if completed.output_text != plain.output_text:
        fail(f"{tag} (sdk)", f"streamed {completed.output_text!r} != plain {plain.output_text!r}")
    if completed.usage is None or completed.usage.input_tokens_details is None:
        fail(f"{tag} (sdk)", "no usage details in the final response")
    print(f"ok   {tag} (sdk client): {plain.output_text[:40]!r}")


def main():
    if len(sys.argv) < 3:
        print(__doc__)
        return 2
    base_url, tags = sys.argv[1], sys.argv[2:]
    print(f"openai {openai.__version__}, pydantic {pydantic.VERSION}")
    classes = event_classes()
    for spec in tags:
        tag, _, only = spec.partition(":")
        status, content_type, raw = post(base_url, tag, True)
        if status == 200 and "text/event-stream" in content_type:
            check_stream(tag, raw, classes)
        elif status is not None:
            check_body(tag, status, content_type, raw)
        if only != "stream":
            status, content_type, raw = post(base_url, tag, False)
            if status is not None:
                check_body(tag, status, content_type, raw)
    check_sdk_client(base_url, tags[0].partition(":")[0])
    if FAILURES:
        print(f"{len(FAILURES)} wire mismatches with the openai SDK {openai.__version__}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
