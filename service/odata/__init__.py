"""OData v4 over a form's households at Central's paths (`…/forms/{id}.svc`), for Excel, Power BI and pyODK."""
