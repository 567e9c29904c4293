"""Forms: XLSForm/XForm upload and conversion, drafts and versions, form media, what Collect downloads."""
