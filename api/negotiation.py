from rest_framework.negotiation import BaseContentNegotiation


class AnyAccept(BaseContentNegotiation):
    """For a download: the file goes to any client, whatever it says it accepts
    (`Accept: application/octet-stream` included); a refusal on the way is JSON."""

    def select_parser(self, request, parsers):
        return parsers[0] if parsers else None

    def select_renderer(self, request, renderers, format_suffix=None):
        return renderers[0], renderers[0].media_type


def any_accept(view):
    view.content_negotiation_class = AnyAccept
    return view
