from explorer.apps.voila import leave_out_notebook_validation

leave_out_notebook_validation()  # before any demo imports plotly's FigureWidget
