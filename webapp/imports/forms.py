"""The CSV import form."""

from flask_wtf.file import FileAllowed, FileField, FileRequired

from ..web.forms import Form


class ImportForm(Form):
    file = FileField("CSV file", validators=[
        FileRequired("choose a CSV file to import"),
        FileAllowed(["csv"], "choose a .csv file (in a spreadsheet: Save as → CSV UTF-8)")])
