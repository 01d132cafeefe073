"""The schema says what every operation may answer, refusals included: 400 (with the reason),
401 (no or a bad token), 403 (a role or a blind stage), 404 (nothing of yours there)."""

ERROR = {
    "type": "object",
    "properties": {
        "detail": {"type": "string", "description": "What is wrong, in words."},
        "code": {"type": "string", "description": "A stable name for the refusal, when given."},
    },
    "required": ["detail"],
}
VALIDATION = {
    "type": "object",
    "description": "`detail`, or one list of messages per field that is wrong.",
    "additionalProperties": True,
}
REFUSALS = {
    "401": "No token, or a token that is unknown or revoked.",
    "403": "Your role in this review, or a blind stage, does not allow it.",
    "404": "No such review of yours, or nothing of that id in it.",
}


def add_refusals(result, generator, request, public):
    components = result.setdefault("components", {}).setdefault("schemas", {})
    components["Error"] = ERROR
    components["ValidationError"] = VALIDATION
    for path, operations in result.get("paths", {}).items():
        if not path.startswith("/api/reviews/"):
            continue
        for operation in operations.values():
            responses = operation.setdefault("responses", {})
            for code, text in REFUSALS.items():
                responses.setdefault(code, _json(text, "Error"))
            responses.setdefault(
                "400", _json("The request is not valid; says why.", "ValidationError")
            )
    return result


def _json(description: str, name: str) -> dict:
    return {
        "description": description,
        "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{name}"}}},
    }
