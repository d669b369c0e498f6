"""The UI's two languages: English (the keys) and Spanish.

The language is the ``clinsynth_lang`` cookie when set (the switch in the page header),
else the browser's Accept-Language, else English. A text without a Spanish entry shows in
English; ``tests/unit/test_ui.py`` checks that every text the templates use has one.
"""

from __future__ import annotations

from collections.abc import Callable

from fastapi import Request

LANGUAGES = ("en", "es")
LANG_COOKIE = "clinsynth_lang"

SPANISH: dict[str, str] = {
    "Knowledge": "Conocimiento",
    "Generate": "Generar",
    "Batches": "Lotes",
    "Patients": "Pacientes",
    "Log in": "Iniciar sesión",
    "Log out": "Cerrar sesión",
    "API key": "Clave de API",
    "Skip to content": "Saltar al contenido",
    "Language": "Idioma",
    "Logged in as": "Sesión de",
    "Open server: no API key is needed": "Servidor abierto: no hace falta clave de API",
    "Invalid or revoked API key": "Clave de API no válida o revocada",
    "Log in with an API key (clinsynth apikey create).": (
        "Inicie sesión con una clave de API (clinsynth apikey create)."
    ),
    "Your key lacks the scope this page needs": (
        "Su clave no tiene el permiso que necesita esta página"
    ),
    "The form expired or did not come from this site: reload the page and try again.": (
        "El formulario caducó o no procede de este sitio: recargue la página e inténtelo de nuevo."
    ),
    "Something went wrong": "Algo salió mal",
    "Back": "Volver",
    "Guideline documents": "Documentos de guías",
    "Upload PDFs": "Subir PDF",
    "Upload": "Subir",
    "Files": "Archivos",
    "Tags (comma separated)": "Etiquetas (separadas por comas)",
    "OCR pages without a text layer": "OCR de páginas sin capa de texto",
    "Uploading": "Subiendo",
    "Document": "Documento",
    "Pages": "Páginas",
    "Chunks": "Fragmentos",
    "OCR pages": "Páginas con OCR",
    "Facts": "Hechos",
    "Status": "Estado",
    "Ingested": "Ingerido",
    "Actions": "Acciones",
    "Delete": "Eliminar",
    "Replace": "Reemplazar",
    "Delete this document?": "¿Eliminar este documento?",
    "No documents yet: upload guideline PDFs.": "Aún no hay documentos: suba PDF de guías.",
    "Coverage": "Cobertura",
    "Which tumours and blocks the corpus supports": "Qué tumores y bloques cubre el corpus",
    "Tumour": "Tumor",
    "Code": "Código",
    "Supported blocks": "Bloques cubiertos",
    "Documents": "Documentos",
    "No facts indexed yet.": "Aún no hay hechos indexados.",
    "Ingestion": "Ingesta",
    "Refused": "Rechazado",
    "Job": "Trabajo",
    "Result": "Resultado",
    "Error": "Error",
    "Generate patients": "Generar pacientes",
    "Describe the patient (English or Spanish)": "Describa al paciente (español o inglés)",
    "Age": "Edad",
    "Sex": "Sexo",
    "female": "femenino",
    "male": "masculino",
    "any": "cualquiera",
    "Diagnosis": "Diagnóstico",
    "Blocks": "Bloques",
    "chemotherapy": "quimioterapia",
    "radiotherapy": "radioterapia",
    "surgery": "cirugía",
    "hsct": "trasplante",
    "others": "otros",
    "Relapse": "Recaída",
    "Second tumour": "Segundo tumor",
    "Record language": "Idioma del registro",
    "Seed": "Semilla",
    "Count": "Cantidad",
    "Fields given here win over what the description says.": (
        "Los campos indicados aquí prevalecen sobre la descripción."
    ),
    "Batch": "Lote",
    "Create batch": "Crear lote",
    "New batch": "Nuevo lote",
    "Progress": "Progreso",
    "done": "terminado",
    "failed": "fallido",
    "ETA": "Tiempo restante",
    "seconds": "segundos",
    "Cancel": "Cancelar",
    "Cancel this batch?": "¿Cancelar este lote?",
    "Records": "Registros",
    "Exports": "Exportaciones",
    "Quality report": "Informe de calidad",
    "Failures": "Fallos",
    "Created": "Creado",
    "No batches yet.": "Aún no hay lotes.",
    "No records yet.": "Aún no hay registros.",
    "Request": "Solicitud",
    "Summary": "Resumen",
    "Demographics": "Datos demográficos",
    "Chemotherapy": "Quimioterapia",
    "Intrathecal therapy": "Terapia intratecal",
    "Radiotherapy": "Radioterapia",
    "Surgery": "Cirugía",
    "Stem-cell transplant": "Trasplante de progenitores hematopoyéticos",
    "Others": "Otros",
    "Second-line treatment": "Tratamiento de segunda línea",
    "Citations": "Citas",
    "page": "página",
    "Validation": "Validación",
    "Validate now": "Validar ahora",
    "All rules passed": "Todas las reglas se cumplen",
    "Rule": "Regla",
    "Severity": "Gravedad",
    "Message": "Mensaje",
    "Not validated yet.": "Aún no validado.",
    "Download": "Descargar",
    "Provenance": "Procedencia",
    "Model": "Modelo",
    "Cited page": "Página citada",
    "Quote": "Cita",
    "Quote found on the page": "Cita encontrada en la página",
    "The quote was not found in this page's text.": (
        "La cita no se encontró en el texto de esta página."
    ),
    "Page text": "Texto de la página",
    "Page image with the quote highlighted": "Imagen de la página con la cita resaltada",
    "Name": "Nombre",
    "Birth date": "Fecha de nacimiento",
    "Phone": "Teléfono",
    "E-mail": "Correo electrónico",
    "Health card": "Tarjeta sanitaria",
    "Medical record": "Historia clínica",
    "Site": "Localización",
    "Metastatic": "Metastásico",
    "yes": "sí",
    "no": "no",
    "Date": "Fecha",
    "Drug": "Fármaco",
    "Dose": "Dosis",
    "Cycle": "Ciclo",
    "Fractions": "Fracciones",
    "Technique": "Técnica",
    "Description": "Descripción",
    "Type": "Tipo",
    "Cell source": "Fuente celular",
    "Injections": "Inyecciones",
    "Drugs": "Fármacos",
    "Genetic conditions": "Condiciones genéticas",
    "Metastasis sites": "Localizaciones metastásicas",
    "Grounding": "Fundamentación",
    "citations resolved": "citas resueltas",
    "Waiting": "En espera",
    "queued": "en cola",
    "running": "en curso",
    "cancelled": "cancelado",
    "The batch's report is not built yet.": "El informe del lote aún no se ha generado.",
    "Build the report": "Generar el informe",
    "Open the report": "Abrir el informe",
    "Generating": "Generando",
    "Open the record": "Abrir el registro",
    "Previous": "Anterior",
    "Next": "Siguiente",
    "Total": "Total",
    "Patient": "Paciente",
    "Home": "Inicio",
}


def language_of(request: Request) -> str:
    chosen = request.cookies.get(LANG_COOKIE, "")
    if chosen in LANGUAGES:
        return chosen
    for part in request.headers.get("accept-language", "").split(","):
        code = part.split(";")[0].strip().lower()[:2]
        if code in LANGUAGES:
            return code
    return "en"


def translator(language: str) -> Callable[[str], str]:
    if language == "es":
        return lambda text: SPANISH.get(text, text)
    return lambda text: text
